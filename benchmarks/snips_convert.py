"""Build a semantic-routing evaluation file (JSONL) from SNIPS, beside the Banking77 one.

    python benchmarks/snips_convert.py [--data DIR] [--out FILE] [--seed N]

5 routes, one SNIPS intent each, 5 example utterances per route from train.csv ("examples"
split); the other 2 intents are out of scope (route null). The "test" split holds 60 test.csv
lines per route and 60 out-of-scope lines (the shape of the maintainers' held-out set: 12.5 %
out of scope). Deterministic for a given seed. SNIPS: Coucke et al. 2018, CC0.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "snips"
DEFAULT_OUT = ROOT / "data" / "snips_routes.jsonl"

ROUTES = ("AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic", "RateBook")
OUT_OF_SCOPE = ("SearchCreativeWork", "SearchScreeningEvent")
EXAMPLES_PER_ROUTE = 5
TEST_PER_ROUTE = 60
OOS_TEST = 60


def _read(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"].strip(), row["category"]) for row in csv.DictReader(f)]


def convert(data: Path, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    train, test = _read(data / "train.csv"), _read(data / "test.csv")
    missing = sorted(set(ROUTES + OUT_OF_SCOPE) - {c for _, c in train})
    if missing:
        raise SystemExit(f"intents not in SNIPS: {missing}")
    lines: list[dict[str, object]] = []
    for route in ROUTES:
        pool = [t for t, c in train if c == route]
        lines += [
            {"route": route, "text": t, "split": "examples"}
            for t in rng.sample(pool, EXAMPLES_PER_ROUTE)
        ]
    for route in ROUTES:
        pool = [t for t, c in test if c == route]
        lines += [
            {"route": route, "text": t, "split": "test"} for t in rng.sample(pool, TEST_PER_ROUTE)
        ]
    oos = [t for t, c in test if c in OUT_OF_SCOPE]
    lines += [{"route": None, "text": t, "split": "test"} for t in rng.sample(oos, OOS_TEST)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    lines = convert(args.data, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} lines to {args.out}")


if __name__ == "__main__":
    main()
