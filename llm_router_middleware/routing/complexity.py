"""Complexity classification: word-boundary keyword vocabularies plus length thresholds.

A keyword matches where it occurs in the lower-cased prompt with no word character
(``isalnum()`` or ``_``) right before or after it; a multi-word keyword matches across any
whitespace run.

The fast path, and why it gives the same hits as checking every keyword character by character.
The prompt is cut once into its runs of ASCII word characters (``_tokens``: encode, translate,
split, all in C; any other character, non-ASCII ones included, separates runs). One set
intersection with the tokens of both vocabularies (``_Compiled.index``) then tells which
keywords can occur at all:

- A keyword made of ASCII word characters only occurs as a whole word exactly where it is a
  token of an ASCII prompt: its neighbours are non-word characters, so the occurrence is a
  maximal run of word characters, and a token equal to the keyword is such an occurrence. In a
  non-ASCII prompt a token can border a non-ASCII letter (``café`` gives ``caf``), so a token
  there is only a candidate, confirmed by ``_whole_word``.
- Any other keyword (``trade-offs``, ``c++``, ``step by step``, ``café``) can only occur if each
  of its own tokens is a token of the prompt (its tokens end at its own separators or at the
  occurrence's non-word neighbours, which separate the prompt's runs too). Those that pass are
  checked exactly by one compiled search (``_exact``).

Above ``_LONG`` characters, where tokenizing costs more than a substring test per keyword (for
vocabularies of at most ``_PROBED`` keywords; the probes' cost grows with their number), the
same token test is a probe: a token is present when " token " occurs in " " +
``_separated(prompt)`` + " " (``_Vocabulary.hits_in_long``); the reasoning above is unchanged.

``\\w`` in ``re`` is, in CPython's ``_sre``, ``Py_UNICODE_ISALNUM(ch) || ch == '_'``: the test
``str.isalnum() or ch == "_"``; ``\\s`` is ``str.isspace()``, never a word character.
tests/routing/test_complexity_exact.py checks both over every code point and compares the
classifier with the former character-level one on generated prompts and vocabularies.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import contains

from .._build import builder
from ..config.schema import ComplexitySpec

LEVELS = ("simple", "medium", "complex")

# every byte that is not an ASCII word character becomes a space; "?" stands for non-ASCII
_SEPARATE = bytes(c if (chr(c).isalnum() and c < 128) or c == 95 else 32 for c in range(256))


# up to this many characters a prompt is tokenized, above it probed keyword by keyword (callgrind,
# default vocabularies: the two cost about the same near 100 characters)
_LONG = 100
_PROBED = 24


def _separated(lowered: str) -> str:
    """``lowered`` with each character but ASCII word characters replaced by a space."""
    return lowered.encode("ascii", "replace").translate(_SEPARATE).decode("ascii")


def _tokens(lowered: str) -> list[str]:
    """The runs of ASCII word characters in ``lowered``."""
    return _separated(lowered).split()


@dataclass(frozen=True, slots=True)
class ComplexityResult:
    level: str  # simple | medium | complex
    reason: str
    signals: Mapping[str, int | str]


_new_result = builder(ComplexityResult)


def _whole_word(text: str, word: str, start: int) -> bool:
    """Does ``word`` occur at or after ``start`` with no word character on either side?"""
    i = text.find(word, start)
    n = len(word)
    end = len(text)
    while i >= 0:
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


def _may_overlap(pieces: list[str]) -> bool:
    """Can a match of the multi-word keyword ``pieces`` start inside another match of it?

    Such a start lies within one piece, or runs past the end of the last one, since the first
    piece holds no whitespace. Errs towards True."""
    first = pieces[0]
    last = len(pieces) - 1
    for i, piece in enumerate(pieces):
        for j in range(1 if i == 0 else 0, len(piece)):
            rest = piece[j:]
            if i < last and rest.startswith(first):
                return True
            if i == last and (rest.startswith(first) or first.startswith(rest)):
                return True
    return False


def _exact(word: str) -> Callable[[str], object]:
    """A whole-word test for ``word`` (lower case, single spaces): truthy when it occurs.

    A single piece: a search for it, not preceded by a word character (checked at its end, so
    that the search can scan for the literal first) nor followed by one; any occurrence
    counts, as in ``_whole_word``. Several pieces: whitespace runs between them. The former
    check looked at the non-overlapping matches of the pieces (``re.finditer``) and at later
    copies of the very text each matched; both agree unless one match can start inside
    another, so such keywords keep that check (``_Phrase``)."""
    pieces = word.split(" ")
    head = re.escape(pieces[0])
    if len(pieces) > 1 and _may_overlap(pieces):
        return _Phrase(re.compile(r"\s+".join(re.escape(p) for p in pieces))).occurs_in
    tail = "".join(r"\s+" + re.escape(p) for p in pieces[1:])
    return re.compile(rf"{head}(?<!\w{head}){tail}(?!\w)").search


@dataclass(frozen=True, slots=True)
class _Phrase:
    pattern: re.Pattern[str]  # the pieces, separated by any whitespace

    def occurs_in(self, text: str) -> bool:
        for m in self.pattern.finditer(text):  # noqa: SIM110 (any() over a generator costs more)
            if _whole_word(text, m.group(), m.start()):
                return True
        return False


@dataclass(frozen=True, slots=True)
class _Other:
    """A keyword that is not one run of ASCII word characters."""

    word: str
    tokens: frozenset[str]  # its own tokens: all must be tokens of a prompt it occurs in
    probe: str  # " token " for its first token ("" if it has none): a prompt it occurs in has it
    occurs_in: Callable[[str], object]


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    words: frozenset[str]  # the keywords that are one run of ASCII word characters
    ordered: tuple[str, ...]  # the same in vocabulary order
    probes: tuple[str, ...]  # " word " for each of them
    others: tuple[_Other, ...]
    gated: frozenset[str]  # the tokens of the others, when each of them has one; else empty
    rank: Mapping[str, int]  # keyword -> position in the vocabulary

    def hits(self, lowered: str, present: frozenset[str]) -> list[str]:
        """The keywords in ``lowered`` (lower case text), in vocabulary order; ``present`` are
        the vocabularies' tokens found in it (``_Compiled.index``)."""
        found = list(self.words & present)
        if self.others and (not self.gated or not self.gated.isdisjoint(present)):
            for k in self.others:
                if k.tokens <= present and k.occurs_in(lowered):
                    found.append(k.word)
        return self._checked(lowered, found)

    def hits_in_long(self, lowered: str, spaced: str) -> list[str]:
        """``hits`` for a long prompt, where a substring probe per keyword costs less than
        tokenizing the prompt: ``spaced`` is " " + ``_separated(lowered)`` + " ", so a token is
        present when " token " occurs in it."""
        found = list(compress(self.ordered, map(contains, repeat(spaced), self.probes)))
        for k in self.others:
            if k.probe in spaced and k.occurs_in(lowered):
                found.append(k.word)
        return self._checked(lowered, found)

    def _checked(self, lowered: str, found: list[str]) -> list[str]:
        if found and not lowered.isascii():  # a token may border a non-ASCII word character
            found = [w for w in found if w not in self.words or _whole_word(lowered, w, 0)]
        if len(found) > 1:
            rank = self.rank.__getitem__
            if len(found) > 2:
                found.sort(key=rank)
            elif rank(found[0]) > rank(found[1]):
                found.reverse()
        return found


def _vocabulary(keywords: Sequence[str]) -> _Vocabulary:
    rank: dict[str, int] = {}
    words: list[str] = []
    others: list[_Other] = []
    for raw in keywords:
        pieces = raw.lower().split()
        word = " ".join(pieces)
        if not pieces or word in rank:
            continue
        rank[word] = len(rank)
        tokens = _tokens(word)
        if tokens == [word]:
            words.append(word)
        else:
            probe = f" {tokens[0]} " if tokens else ""
            others.append(_Other(word, frozenset(tokens), probe, _exact(word)))
    gated = frozenset().union(*(k.tokens for k in others))
    if not all(k.tokens for k in others):
        gated = frozenset()
    return _Vocabulary(
        frozenset(words), tuple(words), tuple(f" {w} " for w in words), tuple(others), gated, rank
    )


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: ComplexitySpec
    simple: _Vocabulary
    complex: _Vocabulary
    index: frozenset[str]  # every token that a keyword of either vocabulary holds
    long: int  # prompts longer than this are probed (hits_in_long), shorter ones tokenized


_compiled: dict[int, _Compiled] = {}


def _compile(spec: ComplexitySpec) -> _Compiled:
    simple = _vocabulary(spec.simple_keywords)
    complex_ = _vocabulary(spec.complex_keywords)
    index = simple.words | complex_.words
    index = index.union(*(k.tokens for k in simple.others + complex_.others))
    if len(_compiled) > 64:  # specs are few and long-lived; never let this grow unbounded
        _compiled.clear()
    largest = max(len(simple.rank), len(complex_.rank))
    long = _LONG if largest <= _PROBED else sys.maxsize
    compiled = _compiled[id(spec)] = _Compiled(spec, simple, complex_, index, long)
    return compiled


def classify_complexity(text: str, spec: ComplexitySpec) -> ComplexityResult:
    """Classify ``text``; the reason names the signal that decided the level."""
    c = _compiled.get(id(spec))
    if c is None or c.spec is not spec:
        c = _compile(spec)
    lowered = text.lower()
    n = len(text)
    if n <= c.long:
        present = c.index.intersection(_tokens(lowered))
        complex_hits = c.complex.hits(lowered, present) if present or c.complex.others else []
    else:
        spaced = f" {_separated(lowered)} "
        complex_hits = c.complex.hits_in_long(lowered, spaced)
    k = len(complex_hits)
    # one f-string per branch: the reason shown in spans and routing info
    if k >= spec.complex_keyword_hits:
        level = "complex"
        s = "s" if k != 1 else ""
        reason = f"complexity=complex: {k} complex keyword{s} ({', '.join(complex_hits)})"
    elif n >= spec.complex_chars:
        level = "complex"
        reason = f"complexity=complex: {n} chars >= complex_chars {spec.complex_chars}"
    elif n >= spec.medium_chars:
        level = "medium"
        reason = f"complexity=medium: {n} chars >= medium_chars {spec.medium_chars}"
    elif k:
        level = "medium"
        reason = f"complexity=medium: complex keyword ({complex_hits[0]}) in a short prompt"
    else:
        if n > c.long:
            simple_hits = c.simple.hits_in_long(lowered, spaced)
        elif present or c.simple.others:
            simple_hits = c.simple.hits(lowered, present)
        else:
            simple_hits = []
        if simple_hits:
            reason = f"complexity=simple: simple keyword ({', '.join(simple_hits)}), {n} chars"
            keywords = ",".join(simple_hits)
        else:
            reason = (
                f"complexity=simple: {n} chars < medium_chars {spec.medium_chars}, "
                "no complex keywords"
            )
            keywords = ""
        return _new_result(
            "simple",
            reason,
            {"chars": n, "complex_hits": 0, "simple_hits": len(simple_hits), "keywords": keywords},
        )
    return _new_result(
        level,
        reason,
        {
            "chars": n,
            "complex_hits": k,
            "simple_hits": 0,
            "keywords": ",".join(complex_hits) if k else "",
        },
    )
