"""Build a semantic-routing evaluation file (JSONL) from SNIPS, beside the Banking77 one.

    python benchmarks/snips_convert.py [--data DIR] [--out FILE] [--seed N]

5 routes, one SNIPS intent each, 5 example utterances per route from train.csv ("examples"
split); the other 2 intents are out of scope (route null). The "test" split holds 60 test.csv
lines per route and 60 out-of-scope lines (the shape of the maintainers' held-out set: 12.5 %
out of scope). Deterministic for a given seed. SNIPS: Coucke et al. 2018, CC0.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _convert import Line, main, read_csv

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "snips"
DEFAULT_OUT = ROOT / "data" / "snips_routes.jsonl"

ROUTES = ("AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic", "RateBook")
OUT_OF_SCOPE = ("SearchCreativeWork", "SearchScreeningEvent")
EXAMPLES_PER_ROUTE = 5
TEST_PER_ROUTE = 60
OOS_TEST = 60


def convert(data: Path, seed: int) -> list[Line]:
    rng = random.Random(seed)
    train, test = read_csv(data / "train.csv"), read_csv(data / "test.csv")
    missing = sorted(set(ROUTES + OUT_OF_SCOPE) - {c for _, c in train})
    if missing:
        raise SystemExit(f"intents not in SNIPS: {missing}")
    lines: list[Line] = []
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


if __name__ == "__main__":
    main(__doc__, convert, data=DEFAULT_DATA, out=DEFAULT_OUT, seed=7)
