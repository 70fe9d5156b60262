"""Complexity classification: word-boundary keyword vocabularies plus length thresholds.

The keywords are matched as whole words (``keywords.py``, which says how and why that is exact).
Per call: the prompt is lower-cased and cut into its ASCII word tokens (``keywords.SEPARATE``);
up to ``_LONG`` characters the vocabularies' tokens found among them decide, for each
vocabulary, whether it is looked at at all and which keywords hit (``Vocabulary.hits``); above,
each keyword is probed in the separated prompt (``Vocabulary.probe``). Both run as one
generated function per vocabulary (no loop, no sort), for vocabularies of at most ``_PROBED``
keywords; larger ones are always tokenized and matched from the few tokens present.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._build import plain_twin
from ..config.schema import ComplexitySpec
from .keywords import SEPARATE, Vocabulary, vocabulary
from .keywords import may_overlap as _may_overlap  # noqa: F401 (tests/routing import it here)

LEVELS = ("simple", "medium", "complex")

# up to this many characters a prompt is tokenized, above it probed keyword by keyword
# (callgrind, default vocabularies: probing costs less from about 40 characters on for a prompt
# with complex keywords, from about 150 for one without; tokenizing lets a vocabulary none of
# whose tokens the prompt holds be skipped)
_LONG = 100
_PROBED = 24
# the simple reasons are built once per spec for each length up to this (``_Compiled.plain``)
_TABLE = 2048


@dataclass(frozen=True, slots=True)
class ComplexityResult:
    level: str  # simple | medium | complex
    reason: str
    signals: Mapping[str, int | str]


_Twin: Any = plain_twin(ComplexityResult)
# the signals with no keyword: _BLANK with its "chars" set; built for each n below a spec's
# medium_chars (at most _TABLE) once, shared by the specs (n -> the signals of a prompt of n
# chars with no keyword); replaced whole when a spec needs more (never appended to: threads
# compiling at once each build a right one)
_BLANK: dict[str, int | str] = {"chars": 0, "complex_hits": 0, "simple_hits": 0, "keywords": ""}
_BARE: tuple[dict[str, int | str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: ComplexitySpec
    simple: Vocabulary
    complex: Vocabulary
    index: frozenset[bytes]  # every token that a keyword of either vocabulary holds
    long: int  # prompts longer than this are probed, shorter ones tokenized
    # the spec's numbers, and the reasons' fixed text that holds them
    needed: int  # complex_keyword_hits
    complex_chars: int
    medium_chars: int
    sized: int  # the lower of the two
    complex_tail: str
    medium_tail: str
    # n -> the reason with no keyword, and the end of the one with simple keywords, for n below
    # medium_chars (the only lengths that can be "simple"; at most _TABLE of them)
    plain: tuple[str, ...]
    chars: tuple[str, ...]
    counted: tuple[str, ...]  # k -> "complexity=complex: k complex keyword(s) ("
    # k -> _BLANK with k complex hits, or k simple ones: copied, then chars and keywords set
    # (about 0.2k instructions less than the literal)
    hit: tuple[dict[str, int | str], ...]
    simple_hit: tuple[dict[str, int | str], ...]


_compiled: dict[int, _Compiled] = {}
_last: _Compiled | None = None  # the spec seen last, compiled: one check per call, not a lookup


def _find(spec: ComplexitySpec) -> _Compiled:
    global _last
    c = _compiled.get(id(spec))
    if c is None or c.spec is not spec:
        c = _compile(spec)
    _last = c
    return c


def _compile(spec: ComplexitySpec) -> _Compiled:
    simple = vocabulary(spec.simple_keywords, len(spec.simple_keywords) <= _PROBED)
    complex_ = vocabulary(spec.complex_keywords, len(spec.complex_keywords) <= _PROBED)
    simple_lengths = min(spec.medium_chars, _TABLE)
    if len(_compiled) > 64:  # specs are few and long-lived; never let this grow unbounded
        _compiled.clear()
    global _BARE
    if len(_BARE) < simple_lengths:
        _BARE = tuple({**_BLANK, "chars": n} for n in range(simple_lengths))
    compiled = _compiled[id(spec)] = _Compiled(
        spec,
        simple,
        complex_,
        index=simple.keys | complex_.keys,
        long=_LONG if max(simple.size, complex_.size) <= _PROBED else sys.maxsize,
        needed=spec.complex_keyword_hits,
        complex_chars=spec.complex_chars,
        medium_chars=spec.medium_chars,
        sized=min(spec.medium_chars, spec.complex_chars),
        complex_tail=f" chars >= complex_chars {spec.complex_chars}",
        medium_tail=f" chars >= medium_chars {spec.medium_chars}",
        plain=tuple(
            f"complexity=simple: {n} chars < medium_chars {spec.medium_chars}, no complex keywords"
            for n in range(simple_lengths)
        ),
        chars=tuple(f"), {n} chars" for n in range(simple_lengths)),
        counted=tuple(
            f"complexity=complex: {k} complex keyword{'s' if k != 1 else ''} ("
            for k in range(complex_.size + 1)
        ),
        hit=tuple({**_BLANK, "complex_hits": k} for k in range(complex_.size + 1)),
        simple_hit=tuple({**_BLANK, "simple_hits": k} for k in range(simple.size + 1)),
    )
    return compiled


_NONE: list[str] = []  # no hits (never changed: hits are only read)
# (level, reason, the keywords that hit, the prebuilt signals of each hit count for them: the
# complex or simple vocabulary's ``hit`` table, unread when nothing hit)
Decision = tuple[str, str, list[str], tuple[dict[str, int | str], ...]]


def classify_complexity(text: str, spec: ComplexitySpec) -> ComplexityResult:
    """Classify ``text``; the reason names the signal that decided the level."""
    level, reason, hits, table = decide(text, spec)
    n = len(text)
    # The signals are a copy of a prebuilt dict with the same keys in the same order (``_BARE``,
    # ``_BLANK``, ``hit``, ``simple_hit``), then what varies set: a copy costs about 0.55k
    # instructions, the literal 1.4k (dealloc included), a store about 0.3k
    signals: dict[str, int | str]
    if hits:
        signals = table[len(hits)].copy()
        signals["chars"] = n
        signals["keywords"] = ",".join(hits)
    else:
        try:
            signals = _BARE[n].copy()
        except IndexError:  # past the table
            signals = _BLANK.copy()
            signals["chars"] = n
    if _Twin is None:  # pragma: no cover (the layout probe failed: the dataclass's own init)
        return ComplexityResult(level, reason, signals)
    # built here, not by a call: the slots stored in a plain twin class of ComplexityResult's
    # layout, which then becomes ComplexityResult (as ``_build.builder`` does, one call fewer)
    result = _Twin()
    result.level = level
    result.reason = reason
    result.signals = signals
    result.__class__ = ComplexityResult
    result_: ComplexityResult = result
    return result_


def decide(text: str, spec: ComplexitySpec) -> Decision:
    """``classify_complexity`` without its signals: the level, the reason, the keywords that hit
    and their signals' table. (The planner reads the level and the reason alone: building the
    signals and the result costs it about 3k instructions.)"""
    c = _last
    if c is None or c.spec is not spec:
        c = _find(spec)
    n = len(text)
    long = n > c.long
    # a long prompt is probed for " token ": a space at each end (in ``lowered`` too, where the
    # exact checks look, to no other effect; keywords.py)
    lowered = f" {text} ".lower() if long else text.lower()
    # the ASCII word runs, space separated; in UTF-8 each non-ASCII character becomes bytes >= 128,
    # which separate runs too
    try:
        runs = lowered.encode().translate(SEPARATE)
    except UnicodeEncodeError:  # a lone surrogate
        runs = lowered.encode("ascii", "replace").translate(SEPARATE)
    if not long:
        present = c.index.intersection(runs.split())
        # a vocabulary none of whose tokens is in the prompt has no hit there: not looked at
        v = c.complex
        if v.keys.isdisjoint(present) and not v.always:
            complex_hits = _NONE
        else:
            complex_hits = v.hits(present, lowered)
    else:
        spaced = runs.decode()
        complex_hits = c.complex.probe(spaced, lowered)
    k = len(complex_hits)
    # one f-string per branch: the reason shown in spans and routing info
    if k >= c.needed:
        return "complex", f"{c.counted[k]}{', '.join(complex_hits)})", complex_hits, c.hit
    if n >= c.sized:  # past medium_chars or complex_chars: decided by the length
        if n >= c.complex_chars:
            return "complex", f"complexity=complex: {n}{c.complex_tail}", complex_hits, c.hit
        return "medium", f"complexity=medium: {n}{c.medium_tail}", complex_hits, c.hit
    if k:
        reason = f"complexity=medium: complex keyword ({complex_hits[0]}) in a short prompt"
        return "medium", reason, complex_hits, c.hit
    v = c.simple
    if long:
        simple_hits = v.probe(spaced, lowered)
    elif v.keys.isdisjoint(present) and not v.always:
        simple_hits = _NONE
    else:
        simple_hits = v.hits(present, lowered)
    if simple_hits:
        try:
            reason = f"complexity=simple: simple keyword ({', '.join(simple_hits)}{c.chars[n]}"
        except IndexError:  # past the table
            reason = f"complexity=simple: simple keyword ({', '.join(simple_hits)}), {n} chars"
        return "simple", reason, simple_hits, c.simple_hit
    try:
        reason = c.plain[n]
    except IndexError:  # past the table
        reason = (
            f"complexity=simple: {n} chars < medium_chars {c.medium_chars}, no complex keywords"
        )
    return "simple", reason, _NONE, c.hit
