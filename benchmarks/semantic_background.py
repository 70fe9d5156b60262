"""Build the shipped background prompts (out-of-scope negatives) from the LLMRouter data (MIT).

    python benchmarks/semantic_background.py [--data DIR] [--per-task N] [--seed S]

Writes llm_router_middleware/semantic/assets/background_prompts.jsonl: N prompts per task type
of /work/shared/data/llmrouter/train.jsonl (math, code, trivia, science, commonsense, ...),
seeded, each cut to its first 300 characters at a word boundary; and background_minilm.npy,
their float16 embeddings by the default local encoder, so startup calibration embeds nothing.
Deterministic for a given seed. Attribution: semantic/assets/NOTICE.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "llmrouter"
ASSETS = ROOT / "llm_router_middleware" / "semantic" / "assets"
MAX_CHARS = 300


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut or text[:limit]


def select(data: Path, per_task: int, seed: int) -> list[dict[str, str]]:
    by_task: dict[str, list[str]] = {}
    with (data / "train.jsonl").open(encoding="utf-8") as f:
        for raw in f:
            item = json.loads(raw)
            by_task.setdefault(item["task"], []).append(item["prompt"])
    rng = random.Random(seed)
    chosen: list[dict[str, str]] = []
    for task in sorted(by_task):
        prompts = sorted(set(by_task[task]))
        rng.shuffle(prompts)
        seen: set[str] = set()
        for prompt in prompts:
            text = shorten(prompt)
            if text and text not in seen:
                seen.add(text)
                chosen.append({"task": task, "text": text})
            if len(seen) == per_task:
                break
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-task", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import numpy as np

    from llm_router_middleware.semantic import LocalMiniLMEncoder

    chosen = select(args.data, args.per_task, args.seed)
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chosen)
    (ASSETS / "background_prompts.jsonl").write_text(lines, encoding="utf-8")
    vectors = LocalMiniLMEncoder().encode([c["text"] for c in chosen]).vectors
    np.save(ASSETS / "background_minilm.npy", vectors.astype(np.float16), allow_pickle=False)
    print(f"{len(chosen)} background prompts from {len({c['task'] for c in chosen})} task types")


if __name__ == "__main__":
    main()
