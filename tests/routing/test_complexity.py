from __future__ import annotations

import dataclasses
import pickle
from types import MappingProxyType

import pytest

from llm_router_middleware.config.schema import ComplexitySpec
from llm_router_middleware.routing import ComplexityResult, classify_complexity, complexity


def spec(**overrides: object) -> ComplexitySpec:
    values: dict[str, object] = {
        "simple_keywords": ("hi", "hello", "thank you", "define"),
        "complex_keywords": ("analyze", "step by step", "trade-offs", "c++", "prove"),
        "medium_chars": 200,
        "complex_chars": 1500,
        "complex_keyword_hits": 2,
        "levels": MappingProxyType({"simple": "s", "medium": "m", "complex": "c"}),
    }
    values.update(overrides)
    return ComplexitySpec(**values)  # type: ignore[arg-type]


SPEC = spec()


def level(text: str, s: ComplexitySpec = SPEC) -> str:
    return classify_complexity(text, s).level


def test_keywords_match_whole_words_only() -> None:
    assert classify_complexity("this is it", SPEC).signals["simple_hits"] == 0  # "hi" in "this"
    assert classify_complexity("Hi there", SPEC).signals["simple_hits"] == 1
    assert classify_complexity("hi!", SPEC).signals["keywords"] == "hi"
    assert level("reanalyzed approve") == "simple"  # neither "analyze" nor "prove"
    assert level("the analyzer proved nothing") == "simple"
    assert level("please ANALYZE it") == "medium"  # one complex keyword, case-insensitive


def test_multi_word_keywords_match_across_any_whitespace() -> None:
    r = classify_complexity("Explain step by step and analyze", SPEC)
    assert r.level == "complex"
    assert r.signals["keywords"] == "analyze,step by step"
    assert level("go step\n  by\tstep, analyze it") == "complex"
    assert level("a stepby step plan") == "simple"
    assert level("footstep by steps") == "simple"


def test_punctuation_keywords_and_hyphens() -> None:
    assert level("weigh the trade-offs, analyze") == "complex"
    assert level("weigh the trade-offset") == "simple"
    assert level("write c++ code and prove it") == "complex"
    assert level("write c++11 code") == "simple"


def test_reason_names_the_deciding_signal() -> None:
    r = classify_complexity("Analyze the trade-offs of both designs.", SPEC)
    assert r == ComplexityResult(
        "complex",
        "complexity=complex: 2 complex keywords (analyze, trade-offs)",
        {"chars": 39, "complex_hits": 2, "simple_hits": 0, "keywords": "analyze,trade-offs"},
    )
    assert classify_complexity("x" * 640, SPEC).reason == (
        "complexity=medium: 640 chars >= medium_chars 200"
    )
    assert classify_complexity("y" * 1500, SPEC).reason == (
        "complexity=complex: 1500 chars >= complex_chars 1500"
    )
    assert classify_complexity("hello, thank you", SPEC).reason == (
        "complexity=simple: simple keyword (hello, thank you), 16 chars"
    )
    assert classify_complexity("what's up", SPEC).reason == (
        "complexity=simple: 9 chars < medium_chars 200, no complex keywords"
    )
    assert classify_complexity("prove it", SPEC).reason == (
        "complexity=medium: complex keyword (prove) in a short prompt"
    )


def test_thresholds_come_from_the_spec() -> None:
    s = spec(medium_chars=10, complex_chars=20, complex_keyword_hits=1)
    assert level("short", s) == "simple"
    assert level("a bit longer text", s) == "medium"
    assert level("a much much longer text", s) == "complex"
    assert level("analyze", s) == "complex"


def test_repeated_keyword_counts_once() -> None:
    assert level("analyze, analyze, analyze") == "medium"


def test_empty_vocabularies_and_text() -> None:
    s = spec(simple_keywords=(), complex_keywords=())
    assert level("", s) == "simple"
    assert level("analyze step by step", s) == "simple"


def test_spec_changes_are_not_served_from_a_stale_cache() -> None:
    a = spec(complex_keywords=("alpha",), complex_keyword_hits=1)
    b = spec(complex_keywords=("beta",), complex_keyword_hits=1)
    assert level("alpha", a) == "complex"
    assert level("alpha", b) == "simple"
    assert level("beta", b) == "complex"


@pytest.mark.parametrize("text", ["hi", "HELLO world", "Hi, define entropy"])
def test_simple_prompts(text: str) -> None:
    assert level(text) == "simple"


@pytest.mark.parametrize(
    "text",
    ["", "hi", "plain words", "analyze", "analyze and prove", "x" * 250, "analyze " + "x" * 1500],
)
@pytest.mark.parametrize("medium_chars", [5, 200])
def test_each_result_is_its_own_with_the_signals_in_order(text: str, medium_chars: int) -> None:
    """Every outcome: a ComplexityResult of its own (signals not shared between calls, even
    when copied from a prebuilt dict), the signals' keys in the documented order."""
    s = spec(medium_chars=medium_chars)
    first, second = classify_complexity(text, s), classify_complexity(text, s)
    assert type(first) is ComplexityResult
    assert first == second
    assert first.signals is not second.signals
    assert list(first.signals) == ["chars", "complex_hits", "simple_hits", "keywords"]
    assert first.signals["chars"] == len(text)
    first.signals["chars"] = -1  # type: ignore[index]
    assert classify_complexity(text, s).signals["chars"] == len(text)
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.level = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(second)) == second
    assert repr(second) == repr(ComplexityResult(second.level, second.reason, second.signals))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hi",
        "Analyze the trade-offs, step by step, and prove it",
        "please analyze this",
        "thank you, define it " * 20,
        "x" * 700,
        "y" * 1600,
        "Qu'est-ce qu'un café? Define it, please.",
    ],
)
def test_the_planners_decision_is_the_classification(text: str) -> None:
    """make_plan classifies through ``decide`` (no signals, no result object): the same level,
    reason and keywords as ``classify_complexity``."""
    for s in (SPEC, spec(medium_chars=20, complex_chars=60, complex_keyword_hits=1)):
        result = classify_complexity(text, s)
        level_, reason, hits, _ = complexity.decide(text, s)
        assert (level_, reason) == (result.level, result.reason)
        assert ",".join(hits) == result.signals["keywords"]
