"""Shared by the learned-routing tests: small generated outcome data."""

from __future__ import annotations

import json
from pathlib import Path

HARD = [
    "Prove that there are infinitely many primes p such that p + 2 is also prime, or explain "
    "precisely why this remains open, then compute the sum of 1/k^2 for k = 1..infinity.",
    "Let f(x) = x^3 - 3x + 1. Find all real roots exactly using trigonometric substitution and "
    "show that their sum of squares equals 6.",
    "Write a Python function that parses a context-free grammar in BNF and returns an LL(1) "
    "parsing table, raising an error on conflicts; include the FIRST and FOLLOW computations.",
    "Given the integral of e^(-x^2) * cos(2x) from -infinity to infinity, evaluate it in closed "
    "form and justify every step of the contour argument.",
    "A 5x5 logic grid: five houses, five owners, five pets, five drinks; clue 1: the Norwegian "
    "lives next to the blue house; clue 2: ... Determine who owns the zebra, step by step.",
    "Implement a lock-free multi-producer multi-consumer ring buffer in C++ with memory_order "
    "annotations and prove it is linearizable.",
]
EASY = [
    "hi",
    "Say hello to my friend Anna.",
    "What colour is the sky on a clear day?",
    "thanks, that was helpful!",
    "Translate 'good morning' into French.",
    "What is the capital of France?",
]


def write_outcomes(path: Path, repeat: int = 4) -> Path:
    """Hard prompts: the weak models fail them; easy ones: everybody passes."""
    lines = []
    for r in range(repeat):
        for i, p in enumerate(HARD):
            scores = {"weak": 0.0, "mid": float(i % 2), "strong": 1.0}
            lines.append({"prompt": f"{p} (variant {r})", "task": "hard", "scores": scores})
        for p in EASY:
            scores = {"weak": 1.0, "mid": 1.0, "strong": 1.0}
            lines.append({"prompt": f"{p} (variant {r})", "task": "easy", "scores": scores})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path
