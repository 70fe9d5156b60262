"""Complexity classification: word-boundary keyword vocabularies plus length thresholds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config.schema import ComplexitySpec

LEVELS = ("simple", "medium", "complex")


@dataclass(frozen=True, slots=True)
class ComplexityResult:
    level: str  # simple | medium | complex
    reason: str
    signals: Mapping[str, int | str]


def _vocabulary(keywords: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True)
    if not words:
        return None
    parts = [r"\s+".join(re.escape(piece) for piece in w.split()) for w in words]
    # (?<!\w) / (?!\w) rather than \b so that keywords that start or end with punctuation
    # ("c++", ".net") still only match whole words.
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


_compiled: dict[int, tuple[ComplexitySpec, re.Pattern[str] | None, re.Pattern[str] | None]] = {}


def _patterns(spec: ComplexitySpec) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    hit = _compiled.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1], hit[2]
    simple = _vocabulary(spec.simple_keywords)
    complex_ = _vocabulary(spec.complex_keywords)
    if len(_compiled) > 64:  # specs are few and long-lived; never let this grow unbounded
        _compiled.clear()
    _compiled[id(spec)] = (spec, simple, complex_)
    return simple, complex_


def _distinct(pattern: re.Pattern[str] | None, text: str) -> list[str]:
    if pattern is None:
        return []
    found = pattern.findall(text)
    if not found:
        return []
    seen: dict[str, None] = {}
    for word in found:
        seen[" ".join(word.split())] = None
    return list(seen)


def classify_complexity(text: str, spec: ComplexitySpec) -> ComplexityResult:
    """Classify ``text``; the reason names the signal that decided the level."""
    simple_re, complex_re = _patterns(spec)
    lowered = text.lower()
    n = len(text)
    complex_hits = _distinct(complex_re, lowered)
    k = len(complex_hits)
    if k >= spec.complex_keyword_hits:
        level = "complex"
        reason = f"{k} complex keyword{'s' if k != 1 else ''} ({', '.join(complex_hits)})"
    elif n >= spec.complex_chars:
        level = "complex"
        reason = f"{n} chars >= complex_chars {spec.complex_chars}"
    elif n >= spec.medium_chars:
        level = "medium"
        reason = f"{n} chars >= medium_chars {spec.medium_chars}"
    elif k:
        level = "medium"
        reason = f"complex keyword ({complex_hits[0]}) in a short prompt"
    else:
        simple_hits = _distinct(simple_re, lowered)
        level = "simple"
        if simple_hits:
            reason = f"simple keyword ({', '.join(simple_hits)}), {n} chars"
        else:
            reason = f"{n} chars < medium_chars {spec.medium_chars}, no complex keywords"
        return ComplexityResult(
            level,
            f"complexity={level}: {reason}",
            {
                "chars": n,
                "complex_hits": 0,
                "simple_hits": len(simple_hits),
                "keywords": ",".join(simple_hits),
            },
        )
    return ComplexityResult(
        level,
        f"complexity={level}: {reason}",
        {"chars": n, "complex_hits": k, "simple_hits": 0, "keywords": ",".join(complex_hits)},
    )
