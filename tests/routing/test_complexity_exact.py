"""The token-set classifier against the former character-level one (copied here as the oracle)
on generated prompts and vocabularies, and the two character-class facts its proof rests on."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from types import MappingProxyType

import pytest

from llm_router_middleware.config.routing import (
    DEFAULT_COMPLEX_KEYWORDS,
    DEFAULT_SIMPLE_KEYWORDS,
)
from llm_router_middleware.config.schema import ComplexitySpec
from llm_router_middleware.routing import ComplexityResult, classify_complexity, complexity
from llm_router_middleware.routing.complexity import _may_overlap


def _oracle_whole_word(text: str, word: str, start: int) -> bool:
    i = text.find(word, start)
    while i >= 0:
        j = i + len(word)
        before_ok = i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        after_ok = j == len(text) or not (text[j].isalnum() or text[j] == "_")
        if before_ok and after_ok:
            return True
        i = text.find(word, i + 1)
    return False


def _oracle_hits(text: str, keywords: Sequence[str]) -> list[str]:
    """The classifier before the token set: a substring probe, then a character-level check."""
    seen: dict[str, re.Pattern[str] | None] = {}
    for raw in keywords:
        pieces = raw.lower().split()
        if pieces:
            pattern = re.compile(r"\s+".join(map(re.escape, pieces))) if len(pieces) > 1 else None
            seen.setdefault(" ".join(pieces), pattern)
    out = []
    for word, pattern in seen.items():
        if word.split(" ")[0] not in text:
            continue
        if pattern is None:
            found = _oracle_whole_word(text, word, 0)
        else:
            found = any(
                _oracle_whole_word(text, m.group(), m.start()) for m in pattern.finditer(text)
            )
        if found:
            out.append(word)
    return out


def oracle(text: str, spec: ComplexitySpec) -> ComplexityResult:
    lowered = text.lower()
    n = len(text)
    hits = _oracle_hits(lowered, spec.complex_keywords)
    k = len(hits)
    if k >= spec.complex_keyword_hits:
        level, reason = "complex", f"{k} complex keyword{'s' if k != 1 else ''} ({', '.join(hits)})"
    elif n >= spec.complex_chars:
        level, reason = "complex", f"{n} chars >= complex_chars {spec.complex_chars}"
    elif n >= spec.medium_chars:
        level, reason = "medium", f"{n} chars >= medium_chars {spec.medium_chars}"
    elif k:
        level, reason = "medium", f"complex keyword ({hits[0]}) in a short prompt"
    else:
        simple = _oracle_hits(lowered, spec.simple_keywords)
        if simple:
            reason = f"simple keyword ({', '.join(simple)}), {n} chars"
        else:
            reason = f"{n} chars < medium_chars {spec.medium_chars}, no complex keywords"
        signals = {"chars": n, "complex_hits": 0, "simple_hits": len(simple)}
        return ComplexityResult(
            "simple", f"complexity=simple: {reason}", {**signals, "keywords": ",".join(simple)}
        )
    return ComplexityResult(
        level,
        f"complexity={level}: {reason}",
        {"chars": n, "complex_hits": k, "simple_hits": 0, "keywords": ",".join(hits)},
    )


def make_spec(simple: Sequence[str], complex_: Sequence[str], hits: int = 2) -> ComplexitySpec:
    return ComplexitySpec(
        simple_keywords=tuple(simple),
        complex_keywords=tuple(complex_),
        medium_chars=60,
        complex_chars=400,
        complex_keyword_hits=hits,
        levels=MappingProxyType({"simple": "s", "medium": "m", "complex": "c"}),
    )


USER_SIMPLE = ("Hi", "hi", "what's", "thank  you", "c++", "x", "_id", "née", "ok?", "---", "ab ab")
USER_COMPLEX = (
    "trade-offs",
    "step by step",
    "C++",
    "c#",
    "a.b",
    "naïve",
    "straße",
    "İstanbul",
    "日本語",
    "step by step by",
    "by step",
    "what is",
    "café",
    "a a",
    "e\u0301t\u00e9",
    "o'brien",
    "x_y",
    "2nd",
    "++",
    "Tradeoffs",
    "tradeoffs",
)
VOCABULARIES = {
    "defaults": (DEFAULT_SIMPLE_KEYWORDS, DEFAULT_COMPLEX_KEYWORDS),
    "user": (USER_SIMPLE, USER_COMPLEX),
    "mixed": (DEFAULT_SIMPLE_KEYWORDS + USER_SIMPLE, USER_COMPLEX + DEFAULT_COMPLEX_KEYWORDS),
    "empty": ((), ()),
}

PIECES = [
    *{w for vocab in VOCABULARIES.values() for kws in vocab for k in kws for w in k.split()},
    "analyzer",
    "reanalyze",
    "stepby",
    "ste",
    "p",
    "offs",
    "trade",
    "is",
    "K",  # KELVIN SIGN, lower-cases to ASCII "k"
    "İ",  # lower-cases to "i" + COMBINING DOT ABOVE
    "ß",
    "é",
    "e\u0301",
    "\u0301",
    "中文",
    "٣",  # ARABIC-INDIC DIGIT THREE: a word character
    "²",  # SUPERSCRIPT TWO: a word character (isalnum), not ASCII
    "Ⅻ",  # ROMAN NUMERAL TWELVE: a word character
    "\u200b",  # ZERO WIDTH SPACE: neither word nor whitespace
    "\u00a0",  # NO-BREAK SPACE: whitespace
    "\u3000",
    "\ud800",  # a lone surrogate
    "\u2019",  # RIGHT SINGLE QUOTATION MARK
    "_",
    "__",
    "0",
    "42",
    "HELLO",
    "Analyze",
    "STEP",
]
GLUE = [
    "",
    "",
    "",
    " ",
    " ",
    "  ",
    "\t",
    "\n",
    " \n\t ",
    "-",
    "_",
    ".",
    ",",
    "!",
    "?",
    "'",
    "+",
    "#",
    "é",
    "1",
    "a",
]


def generated(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(0, 14) if rng.random() < 0.6 else rng.randrange(14, 60)):
        parts.append(rng.choice(PIECES))
        parts.append(rng.choice(GLUE))
    text = "".join(parts)
    if rng.random() < 0.2:
        text = text.upper()
    return text


@pytest.fixture(params=["chosen", "always probed"])
def paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """As configured, or long prompts probed whatever the vocabulary size (complexity._PROBED)."""
    if request.param == "always probed":
        monkeypatch.setattr(complexity, "_PROBED", 10**9)
    monkeypatch.setattr(complexity, "_compiled", {})


@pytest.mark.usefixtures("paths")
@pytest.mark.parametrize("name", list(VOCABULARIES))
@pytest.mark.parametrize("needed", [1, 2, 3])
def test_same_results_as_the_character_level_classifier(name: str, needed: int) -> None:
    simple, complex_ = VOCABULARIES[name]
    spec = make_spec(simple, complex_, needed)
    rng = random.Random(f"{name}-{needed}")
    for _ in range(3000):
        text = generated(rng)
        assert classify_complexity(text, spec) == oracle(text, spec), repr(text)


HAND_PICKED = [
    "Hi! What is the capital of France?",
    "step by step\tby  step",
    "xstep by step  by step",  # the former check: the first match's text later, or nothing
    "xstep by step by step",
    "a a\ta",
    "xa a\ta",
    "analyze_this analyze",
    "café analyze cafe",
    "naïve naive naïveté",
    "c++11 c++ x++ c+++",
    "trade-offset trade-offs",
    "İstanbul istanbul",
    "what's up, what is it?",
    "thank\u00a0you",
    "thank\u200byou",
    "\uff12nd 2nd",  # FULLWIDTH DIGIT TWO
    "",
]


@pytest.mark.usefixtures("paths")
@pytest.mark.parametrize("name", list(VOCABULARIES))
@pytest.mark.parametrize("text", HAND_PICKED)
def test_hand_picked_edges(name: str, text: str) -> None:
    spec = make_spec(*VOCABULARIES[name], hits=1)
    long = f"{text} {'x' * 120} {text}"  # past complexity._LONG: the probing path
    for t in (text, text.upper(), long, long.upper()):
        assert classify_complexity(t, spec) == oracle(t, spec), repr(t)


def test_the_oracle_sees_whole_words_only() -> None:
    """Guard for the guard: these texts tell a whole-word check from a substring check."""
    spec = make_spec(("hi",), ("analyze", "c++"), hits=1)
    for text in ("this", "analyzer", "reanalyze", "analyze_", "analyzeé", "c++x", "ac++"):
        assert oracle(text, spec).signals["keywords"] == "", text
        assert classify_complexity(text, spec).signals["keywords"] == "", text
        long = f"{text} {'y' * 120}"
        assert classify_complexity(long, spec).signals["keywords"] == "", long
    assert classify_complexity("é analyze", spec).signals["keywords"] == "analyze"
    assert classify_complexity("(c++)", spec).signals["keywords"] == "c++"
    assert classify_complexity(f"(c++) {'z' * 120}", spec).signals["keywords"] == "c++"


def test_overlap_detection_errs_towards_the_former_check() -> None:
    assert _may_overlap(["step", "by", "step"])
    assert _may_overlap(["a", "a"])
    assert _may_overlap(["ab", "ab"])
    assert _may_overlap(["ab", "xab", "c"])  # a match can start inside a later piece
    assert _may_overlap(["abc", "xa"])  # ...or run past the end of the last one
    assert not _may_overlap(["aa", "b"])  # not inside the first piece: "aa" then whitespace
    assert not _may_overlap(["what", "is"])
    assert not _may_overlap(["thank", "you"])


ALL_CHARS = "".join(map(chr, range(0x110000)))


def test_re_word_class_is_isalnum_or_underscore() -> None:
    """The fast path's proof: ``\\w`` is exactly ``isalnum() or "_"``, over every code point."""
    by_re = set(re.findall(r"\w", ALL_CHARS))
    assert by_re == {c for c in ALL_CHARS if c.isalnum() or c == "_"}


def test_whitespace_is_never_a_word_character() -> None:
    spaces = set(re.findall(r"\s", ALL_CHARS))
    assert spaces == {c for c in ALL_CHARS if c.isspace()}
    assert not any(c.isalnum() or c == "_" for c in spaces)


def test_simple_reasons_past_the_per_spec_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simple reasons are built once per spec for lengths below complexity._TABLE; longer
    simple prompts get theirs formatted, with the same text."""
    monkeypatch.setattr(complexity, "_TABLE", 5)
    monkeypatch.setattr(complexity, "_compiled", {})
    spec = make_spec(*VOCABULARIES["defaults"])
    for text in ("", "hi", "hello", "hi there", "thank you, what is it", "x" * 59, "hi " * 19):
        assert classify_complexity(text, spec) == oracle(text, spec), repr(text)


@pytest.mark.usefixtures("paths")
@pytest.mark.parametrize("name", ["defaults", "user"])
def test_others_found_between_spaces_or_by_their_search(name: str) -> None:
    """A keyword checked by a search is first looked for between spaces (or the prompt's ends);
    where that fails (punctuation, a whitespace run, a word character) the search decides."""
    spec = make_spec(*VOCABULARIES[name], hits=1)
    texts = ["what is", "what is?", "(what is) x", "what  is", "what\tis", "xwhat is", "what isx"]
    texts += ["trade-offs", "trade-offs.", "a trade-offs b", "-trade-offs-", "trade-offs_"]
    texts += ["c++ x", "x c++", "c++x c++", "o'brien", "o'brien's", "a.b", "a.b.c", "2nd 2ndx"]
    for text in texts:
        for t in (text, f"{text} {'y' * 120} {text}"):  # tokenized, then probed
            assert classify_complexity(t, spec) == oracle(t, spec), repr(t)


@pytest.mark.usefixtures("paths")
def test_final_sigma_at_the_prompt_ends() -> None:
    """A long prompt is lower-cased with a space at each end; Σ lower-cases by its neighbours
    (final ς before a non-letter or the end), so the ends must read the same either way."""
    spec = make_spec(("σας", "ςας"), ("οδός", "οδόσ", "ας"), hits=1)
    for text in ("ΟΔΌΣ", "ΣΑΣ", "ΣΑΣ ΟΔΌΣ", "ΑΣ", "Σ"):
        for t in (text, f"{text} {'y' * 120} {text}", f"{'y' * 120} {text}"):
            assert classify_complexity(t, spec) == oracle(t, spec), repr(t)


@pytest.mark.usefixtures("paths")
def test_a_large_vocabulary_with_shared_and_missing_tokens() -> None:
    """Past complexity._PROBED keywords the others are filed under one token of theirs
    (keywords._keyed); those with no token ("---", "++") are always checked."""
    complex_ = (*USER_COMPLEX, *DEFAULT_COMPLEX_KEYWORDS, "---", "++", "two words", "two  more")
    complex_ += tuple(f"w{i} two" for i in range(8))
    spec = make_spec(USER_SIMPLE, complex_, hits=1)
    assert len(complex_) > 24  # complexity._PROBED as configured
    rng = random.Random("large")
    texts = ["--- x", "a ++ b", "two words", "two more w3 two", "w5  two --- step by step"]
    texts += [generated(rng) + " two w1 --- words " + generated(rng) for _ in range(1500)]
    for text in texts:
        for t in (text, f"{text} {'y' * 120} {text}"):
            assert classify_complexity(t, spec) == oracle(t, spec), repr(t)
