"""Complexity classification: word-boundary keyword vocabularies plus length thresholds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import contains

from .._build import builder
from ..config.schema import ComplexitySpec

LEVELS = ("simple", "medium", "complex")


@dataclass(frozen=True, slots=True)
class ComplexityResult:
    level: str  # simple | medium | complex
    reason: str
    signals: Mapping[str, int | str]


_new_result = builder(ComplexityResult)


@dataclass(frozen=True, slots=True)
class _Keyword:
    word: str  # lower case, single spaces
    probe: str  # a substring that must occur for the keyword to match (its first word)
    pattern: re.Pattern[str] | None  # multi-word keywords: words separated by any whitespace

    def occurs_in(self, text: str) -> bool:
        """Whole-word match; call only when ``self.probe in text``."""
        if self.pattern is None:
            return _whole_word(text, self.word, 0)
        return any(_whole_word(text, m.group(), m.start()) for m in self.pattern.finditer(text))


def _whole_word(text: str, word: str, start: int) -> bool:
    """Does ``word`` occur at or after ``start`` with no word character on either side?"""
    i = text.find(word, start)
    n = len(word)
    end = len(text)
    while i >= 0:  # _is_word inlined: this runs for every keyword a prompt contains
        j = i + n
        if i:
            before = text[i - 1]
            if before.isalnum() or before == "_":
                i = text.find(word, i + 1)
                continue
        if j == end:
            return True
        after = text[j]
        if not (after.isalnum() or after == "_"):
            return True
        i = text.find(word, i + 1)
    return False


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    keywords: tuple[_Keyword, ...]
    probes: tuple[str, ...]

    def hits(self, text: str) -> list[str]:
        # Substring probes run in C (compress + map, no Python loop, no regex; operator.contains
        # is a fast call where the bound text.__contains__ goes through a slot wrapper); only
        # the few keywords whose probe occurs get the whole-word check.
        # A single word (most keywords) is checked here, without the call through occurs_in.
        return [
            k.word
            for k in compress(self.keywords, map(contains, repeat(text), self.probes))
            if (_whole_word(text, k.word, 0) if k.pattern is None else k.occurs_in(text))
        ]


def _vocabulary(keywords: Sequence[str]) -> _Vocabulary:
    out: dict[str, _Keyword] = {}
    for raw in keywords:
        pieces = raw.lower().split()
        if not pieces:
            continue
        word = " ".join(pieces)
        pattern = None
        if len(pieces) > 1:
            pattern = re.compile(r"\s+".join(re.escape(p) for p in pieces))
        out.setdefault(word, _Keyword(word, pieces[0], pattern))
    words = tuple(out.values())
    return _Vocabulary(words, tuple(k.probe for k in words))


_compiled: dict[int, tuple[ComplexitySpec, _Vocabulary, _Vocabulary]] = {}


def _vocabularies(spec: ComplexitySpec) -> tuple[_Vocabulary, _Vocabulary]:
    hit = _compiled.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1], hit[2]
    simple = _vocabulary(spec.simple_keywords)
    complex_ = _vocabulary(spec.complex_keywords)
    if len(_compiled) > 64:  # specs are few and long-lived; never let this grow unbounded
        _compiled.clear()
    _compiled[id(spec)] = (spec, simple, complex_)
    return simple, complex_


def classify_complexity(text: str, spec: ComplexitySpec) -> ComplexityResult:
    """Classify ``text``; the reason names the signal that decided the level."""
    simple_vocab, complex_vocab = _vocabularies(spec)
    lowered = text.lower()
    n = len(text)
    complex_hits = complex_vocab.hits(lowered)
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
        simple_hits = simple_vocab.hits(lowered)
        level = "simple"
        if simple_hits:
            reason = f"simple keyword ({', '.join(simple_hits)}), {n} chars"
        else:
            reason = f"{n} chars < medium_chars {spec.medium_chars}, no complex keywords"
        return _new_result(
            level,
            f"complexity={level}: {reason}",
            {
                "chars": n,
                "complex_hits": 0,
                "simple_hits": len(simple_hits),
                "keywords": ",".join(simple_hits),
            },
        )
    return _new_result(
        level,
        f"complexity={level}: {reason}",
        {"chars": n, "complex_hits": k, "simple_hits": 0, "keywords": ",".join(complex_hits)},
    )
