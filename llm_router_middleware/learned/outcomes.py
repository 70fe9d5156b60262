"""Outcome data: `{"prompt": str, "task": str, "scores": {model: score}}`, one JSON object a line
(the format of LLMRouter's data and of `benchmarks/router_eval.py`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


class OutcomeFileError(ValueError):
    """An outcome file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Outcome:
    prompt: str
    task: str
    scores: dict[str, float]


def read_outcomes(path: str | Path) -> list[Outcome]:
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 is text
    except OSError as exc:
        raise OutcomeFileError(f"cannot read outcome file {str(source)!r}: {exc}") from None
    rows: list[Outcome] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise OutcomeFileError(f"{where}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise OutcomeFileError(f"{where}: expected an object with prompt, task and scores")
        prompt, scores = data.get("prompt"), data.get("scores")
        if not isinstance(prompt, str):
            raise OutcomeFileError(f'{where}: "prompt" must be a string')
        if not isinstance(scores, dict) or not scores:
            raise OutcomeFileError(f'{where}: "scores" must be a non-empty object model->score')
        clean: dict[str, float] = {}
        for model, value in scores.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise OutcomeFileError(f"{where}: score of {model!r} must be a number")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise OutcomeFileError(f"{where}: score of {model!r} must lie in [0, 1]")
            clean[model] = float(value)
        rows.append(Outcome(prompt, str(data.get("task", "")), clean))
    if not rows:
        raise OutcomeFileError(f"outcome file {str(source)!r} has no rows")
    return rows
