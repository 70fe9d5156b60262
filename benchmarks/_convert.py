"""What the dataset converters share: reading a ``text,category`` CSV and the command line
that writes a converter's lines as JSONL (banking77_convert.py, snips_convert.py)."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable
from pathlib import Path

Line = dict[str, object]


def read_csv(path: Path) -> list[tuple[str, str]]:
    """Each row's (stripped text, category)."""
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"].strip(), row["category"]) for row in csv.DictReader(f)]


def write_jsonl(lines: list[Line], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


def main(
    doc: str,
    convert: Callable[[Path, int], list[Line]],
    *,
    data: Path,
    out: Path,
    seed: int,
) -> None:
    """``--data DIR --out FILE --seed N``: convert and write the lines."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--seed", type=int, default=seed)
    args = parser.parse_args()
    lines = convert(args.data, args.seed)
    write_jsonl(lines, args.out)
    print(f"wrote {len(lines)} lines to {args.out}")
