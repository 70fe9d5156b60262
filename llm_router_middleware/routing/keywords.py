"""Keyword vocabularies, matched as whole words in a lower-cased prompt.

A keyword matches where it occurs in the lower-cased prompt with no word character
(``isalnum()`` or ``_``) right before or after it; a multi-word keyword matches across any
whitespace run.

The fast path, and why it gives the same hits as checking every keyword character by character.
The prompt is cut once into its runs of ASCII word characters (its tokens: ``separated`` then
``split``, all in C; any other character, non-ASCII ones included, separates runs). The
vocabularies' tokens found among them (one set intersection) tell which keywords can occur:

- A keyword made of ASCII word characters only occurs as a whole word exactly where it is a
  token of an ASCII prompt: its neighbours are non-word characters, so the occurrence is a
  maximal run of word characters, and a token equal to the keyword is such an occurrence. In a
  non-ASCII prompt a token can border a non-ASCII letter (``café`` gives ``caf``), so a token
  there is only a candidate, confirmed by ``whole_word``.
- Any other keyword (``trade-offs``, ``c++``, ``step by step``, ``café``) can only occur if each
  of its own tokens is a token of the prompt (its tokens end at its own separators or at the
  occurrence's non-word neighbours, which separate the prompt's runs too). Those that pass are
  checked exactly by one compiled search (``_exact``).

For a long prompt, where tokenizing costs more than a substring test per keyword, the same
token test is a probe: a token is present when " token " occurs in " " + ``separated(prompt)``
+ " " (``Vocabulary.probe``, which probes the first token of each keyword); the reasoning above
is unchanged.

``\\w`` in ``re`` is, in CPython's ``_sre``, ``Py_UNICODE_ISALNUM(ch) || ch == '_'``: the test
``str.isalnum() or ch == "_"``; ``\\s`` is ``str.isspace()``, never a word character.
tests/routing/test_complexity_exact.py checks both over every code point and compares the
classifier with the former character-level one on generated prompts and vocabularies, on both
paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

# every byte that is not an ASCII word character becomes a space (bytes >= 128 too: the UTF-8 of
# a non-ASCII character, or "?" for one that ``separated`` replaced)
SEPARATE = bytes(c if (chr(c).isalnum() and c < 128) or c == 95 else 32 for c in range(256))


def separated(lowered: str) -> str:
    """``lowered`` with each character but ASCII word characters replaced by a space."""
    return lowered.encode("ascii", "replace").translate(SEPARATE).decode("ascii")


def tokens_of(lowered: str) -> list[str]:
    """The runs of ASCII word characters in ``lowered``."""
    return separated(lowered).split()


def whole_word(text: str, word: str, start: int) -> bool:
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


def may_overlap(pieces: list[str]) -> bool:
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
    counts, as in ``whole_word``. Several pieces: whitespace runs between them. The former
    check looked at the non-overlapping matches of the pieces (``re.finditer``) and at later
    copies of the very text each matched; both agree unless one match can start inside
    another, so such keywords keep that check (``_Phrase``)."""
    pieces = word.split(" ")
    head = re.escape(pieces[0])
    if len(pieces) > 1 and may_overlap(pieces):
        return _Phrase(re.compile(r"\s+".join(re.escape(p) for p in pieces))).occurs_in
    tail = "".join(r"\s+" + re.escape(p) for p in pieces[1:])
    return re.compile(rf"{head}(?<!\w{head}){tail}(?!\w)").search


@dataclass(frozen=True, slots=True)
class _Phrase:
    pattern: re.Pattern[str]  # the pieces, separated by any whitespace

    def occurs_in(self, text: str) -> bool:
        for m in self.pattern.finditer(text):  # noqa: SIM110 (any() over a generator costs more)
            if whole_word(text, m.group(), m.start()):
                return True
        return False


@dataclass(frozen=True, slots=True)
class _Other:
    """A keyword that is not one run of ASCII word characters."""

    word: str
    tokens: frozenset[bytes]  # its own tokens: all must be tokens of a prompt it occurs in
    occurs_in: Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    keys: frozenset[bytes]  # every token of every keyword: a prompt with none of them has no hit...
    always: bool  # ...unless a keyword has no token at all ("---"): then it is always checked
    size: int
    # (present, lowered) -> the keywords in ``lowered``, in vocabulary order; ``present`` holds
    # the prompt's tokens, at least those of the vocabulary (complexity: ``_Compiled.index``)
    hits: Callable[[frozenset[bytes], str], list[str]]
    # (spaced, lowered) -> the same for a long prompt: ``lowered`` has a space at each end and
    # ``spaced`` is ``separated(lowered)``, where a token is present when " token " occurs
    probe: Callable[[str, str], list[str]]


def _hits(
    named: Mapping[bytes, str],
    keyed: Mapping[bytes, tuple[_Other, ...]],
    untokened: tuple[_Other, ...],
    rank: Mapping[str, int],
    present: frozenset[bytes],
    lowered: str,
) -> list[str]:
    """``Vocabulary.hits`` for a large vocabulary: from the few tokens present, not keyword by
    keyword. Each other is looked at only when one token of its own (``keyed``: token -> the
    others filed under it, each under one token) is present, so a vocabulary with many of them
    does not test each; ``untokened`` ones ("---") always. Loops, not comprehensions: a
    comprehension is a function call of its own."""
    found = []
    for token in present:  # the few keyword tokens the prompt holds
        if token in named:
            found.append(named[token])
        if token in keyed:
            for k in keyed[token]:
                if k.tokens <= present and k.occurs_in(lowered):
                    found.append(k.word)
    for k in untokened:
        if k.occurs_in(lowered):
            found.append(k.word)
    if found and not lowered.isascii():
        found = [w for w in found if w.encode() not in named or whole_word(lowered, w, 0)]
    if len(found) > 1:
        if len(found) > 2:
            found.sort(key=rank.__getitem__)
        elif rank[found[0]] > rank[found[1]]:
            found.reverse()
    return found


def _keyed(others: Sequence[_Other]) -> dict[bytes, tuple[_Other, ...]]:
    """token -> the others filed under it: each with a token of its own that the fewest others
    hold (all its tokens must be present for it to occur; the rarest makes the fewest checks)."""
    holders: dict[bytes, int] = {}
    for k in others:
        for t in k.tokens:
            holders[t] = holders.get(t, 0) + 1
    filed: dict[bytes, list[_Other]] = {}
    for k in others:
        if k.tokens:
            filed.setdefault(min(sorted(k.tokens), key=holders.__getitem__), []).append(k)
    return {t: tuple(ks) for t, ks in filed.items()}


def _generated(
    tests: Sequence[tuple[str, Sequence[str | bytes]]],
    exact: Mapping[str, Callable[[str], object]],
    words: frozenset[str],
    spaced: frozenset[str],
    padded: bool,
) -> Callable[[Any, str], list[str]]:
    """``found(haystack, lowered)``: the keywords whose strings (``tests``: keyword -> strings)
    are all in ``haystack``, in vocabulary order, the others among them checked exactly, the
    words made of one token confirmed in a non-ASCII prompt (a token there may border a
    non-ASCII word character).

    Generated once per vocabulary as one ``if`` per keyword, the strings as literals (``repr``
    of a str): a loop over the keywords spends more on its own bytecode than on the tests, and
    the hits come out in order, with no sort (callgrind, default vocabulary, 149 chars probed:
    19.9k -> 13.1k instructions).

    For the others in ``spaced`` (those checked by one search, ``_exact``) the exact check
    starts with " keyword " in " " + ``lowered`` + " " (``padded``: ``lowered`` is that already;
    else built once, when first needed): found there, the keyword occurs with a space or an end
    on each side, which the search accepts; one substring test instead of a search (about 0.6k
    against 2.6k instructions). The spaces change no search's result: no keyword starts or ends
    with whitespace, and a space is no word character."""
    namespace: dict[str, object] = {
        "whole_word": whole_word,
        "_words": words,
    }
    lines = ["def found(haystack, lowered):", "    found = []"]
    if not padded:
        lines.append("    padded = None")
    for i, (word, strings) in enumerate(tests):
        conditions = [f"{s!r} in haystack" for s in strings]
        if word in exact:
            namespace[f"_exact{i}"] = exact[word]
            check = f"_exact{i}(lowered)"
            if word in spaced:
                probe = f" {word} "
                spaced_lowered = "lowered" if padded else "(padded := padded or f' {lowered} ')"
                check = f"({probe!r} in {spaced_lowered} or {check})"
            conditions.append(check)
        lines += [
            f"    if {' and '.join(conditions) or 'True'}:",
            f"        found.append({word!r})",
        ]
    lines += [
        "    if found and not lowered.isascii():",
        "        confirmed = []",  # a loop: a comprehension would make lowered a cell (per call)
        "        for w in found:",
        "            if w not in _words or whole_word(lowered, w, 0):",
        "                confirmed.append(w)",
        "        return confirmed",
        "    return found",
    ]
    exec("\n".join(lines) + "\n", namespace)  # literals: repr() of str
    return namespace["found"]  # type: ignore[return-value]


def vocabulary(keywords: Sequence[str], generated: bool) -> Vocabulary:
    """The keywords, lower-cased, whitespace runs as one space, empty ones and repeats dropped.
    ``generated``: ``hits`` tests keyword by keyword (``_generated``), for a small vocabulary;
    else it starts from the prompt's tokens (``_hits``). ``probe`` is always generated."""
    rank: dict[str, int] = {}
    words: list[str] = []
    others: list[_Other] = []
    tested: list[tuple[str, list[bytes]]] = []
    searched: set[str] = set()
    for raw in keywords:
        pieces = raw.lower().split()
        word = " ".join(pieces)
        if not pieces or word in rank:
            continue
        rank[word] = len(rank)
        tokens = tokens_of(word)
        tested.append((word, [t.encode() for t in dict.fromkeys(tokens)]))
        if tokens == [word]:
            words.append(word)
        else:
            others.append(_Other(word, frozenset(t.encode() for t in tokens), _exact(word)))
            if len(pieces) == 1 or not may_overlap(pieces):  # _exact's search, not _Phrase
                searched.add(word)
    exact = {k.word: k.occurs_in for k in others}
    gated = frozenset[bytes]().union(*(k.tokens for k in others))
    always = not all(k.tokens for k in others)
    word_set = frozenset(words)
    hits: Callable[[frozenset[bytes], str], list[str]]
    if generated:
        hits = _generated(tested, exact, word_set, frozenset(searched), padded=False)
    else:
        named = {w.encode(): w for w in words}
        untokened = tuple(k for k in others if not k.tokens)
        hits = partial(_hits, named, _keyed(others), untokened, rank)
    probes = [(word, [f" {tokens[0].decode()} "] if tokens else []) for word, tokens in tested]
    return Vocabulary(
        keys=gated.union(w.encode() for w in words),
        always=always,
        size=len(rank),
        hits=hits,
        probe=_generated(probes, exact, word_set, frozenset(searched), padded=True),
    )
