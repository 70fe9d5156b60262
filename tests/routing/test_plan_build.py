"""What the planner's shortcuts must keep: plans built by ``_build.builder`` are ordinary
frozen Plans, rejections read after planning are the same objects with the same texts, and
what is cached per candidate set, threshold or user gives what a fresh computation gives."""

from __future__ import annotations

import dataclasses
import math
import pickle
import random
from types import MappingProxyType

import pytest
from test_planner import CONFIG, budget, inp, same_but_the_lead, view

from llm_router_middleware._build import builder
from llm_router_middleware.config.schema import ExperimentSpec
from llm_router_middleware.context import RequestContext
from llm_router_middleware.errors import RouterError
from llm_router_middleware.routing import (
    ComplexityResult,
    LatencyFigures,
    Plan,
    Preselection,
    Rejection,
    assign,
    make_plan,
)
from llm_router_middleware.routing.candidates import (
    Candidates,
    candidates,
    cheapest_first,
    strongest_first,
)
from llm_router_middleware.routing.learned import (
    LearnedInput,
    _knob,
    _level,
    judge,
    select_learned,
)
from llm_router_middleware.routing.plan import AttributeValue
from llm_router_middleware.routing.reasons import shown, why_cooldown
from llm_router_middleware.routing.selection import _first
from llm_router_middleware.routing.speed import by_speed, fastest

FIELDS = (
    "fixed",
    ("a", "b"),
    "why",
    "pro",
    ("a", "b", "c"),
    (Rejection("c", "cooldown", "c: cooling down"),),
    10,
    MappingProxyType({"a": 0.5, "b": 1.0}),
    0.25,
    "user:u1",
    True,
    "exp",
    "control",
    MappingProxyType({"k": 1}),
)


def test_a_built_plan_is_an_ordinary_frozen_plan() -> None:
    built = builder(Plan)(*FIELDS)
    plain = Plan(*FIELDS)
    assert type(built) is Plan
    assert built == plain
    assert hash(built.order) == hash(plain.order)
    assert repr(built) == repr(plain)
    names = [f.name for f in dataclasses.fields(Plan)]
    assert [getattr(built, n) for n in names] == [getattr(plain, n) for n in names]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.reason = "other"  # type: ignore[misc]
    assert dataclasses.replace(built, reason="other").reason == "other"
    picklable = dataclasses.replace(built, estimates_usd={}, attributes={})
    assert pickle.loads(pickle.dumps(picklable)) == picklable


def test_a_built_complexity_result_equals_the_constructor_s() -> None:
    built = builder(ComplexityResult)("simple", "short", {"chars": 2})
    assert type(built) is ComplexityResult
    assert built == ComplexityResult("simple", "short", {"chars": 2})
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.level = "complex"  # type: ignore[misc]


def test_rejections_read_after_planning_are_the_same_objects_with_the_same_texts() -> None:
    state = view(
        blocked={"premium": "circuit open after 5 consecutive failures"},
        rpm_used={"balanced": 60.0},
    )
    plan = make_plan(CONFIG, inp("fixed", "hello", prompt_tokens=10_000), state)
    first = plan.rejected
    texts = [(r.model, r.code, r.reason) for r in first]
    assert texts == [
        ("premium", "breaker_open", "premium: circuit open after 5 consecutive failures"),
        ("balanced", "rate_limit", "balanced: 60 requests this minute >= rpm 60"),
        (
            "local",
            "context_window",
            "local: needs 10256 tokens (10000 prompt + 256 output) > context window 8000",
        ),
    ]
    again = plan.rejected
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert [r.reason for r in again] == [t[2] for t in texts]  # formatted once, kept
    assert first[0] == Rejection(*texts[0])
    assert hash(first[0]) == hash(Rejection(*texts[0]))
    assert repr(first[1]) == (
        "Rejection(model='balanced', code='rate_limit', "
        "reason='balanced: 60 requests this minute >= rpm 60')"
    )


def test_a_deferred_rejection_reads_as_its_formatter_on_its_arguments_also_unpickled() -> None:
    r = Rejection.deferred("m", "latency", "{}: {} > {}".format, ("m", 2, 1))
    copy = pickle.loads(pickle.dumps(Rejection.deferred("m", "cooldown", why_cooldown, ("m", 3.0))))
    assert (r.model, r.code, r.reason) == ("m", "latency", "m: 2 > 1")
    assert (copy.model, copy.code, copy.reason) == ("m", "cooldown", "m: cooling down, 3.0 s left")


PREMIUM_OVER = "budget downgrade: preferred premium ~$0.00884 > $0.004 left (user:u1); "


def test_a_learned_downgrade_reads_whole_though_its_first_pick_had_no_reason() -> None:
    judged = LearnedInput(0.9, 0.5)
    plan = make_plan(CONFIG, inp("learned", "hi", learned=judged), view(budget=budget(0.004)))
    assert plan.order == ("balanced", "cheap", "local")
    assert plan.reason == PREMIUM_OVER + (
        "learned: difficulty 0.90 >= 0.50 (threshold); premium unavailable (budget) "
        "-> best available balanced"
    )
    assert [(r.model, r.code, r.reason) for r in plan.rejected] == [
        ("premium", "budget", "premium: ~$0.00884 > $0.004 left (user:u1)")
    ]
    assert list(plan.attributes) == [
        "learned.difficulty",
        "learned.threshold",
        "learned.cached",
        "learned.truncated",
        "learned.required_quality",
        "budget.preferred",
        "cost.estimate_usd",
    ]


def test_a_latency_downgrade_and_a_latency_pick_within_budget_read_whole() -> None:
    figures = {
        "premium": LatencyFigures(0.2, 0.3, 10),
        "balanced": LatencyFigures(0.5, 0.9, 10),
        "cheap": LatencyFigures(0.9, 1.2, 10),
    }
    plan = make_plan(CONFIG, inp("latency", "hi"), view(budget=budget(0.004), latency=figures))
    assert plan.order == ("balanced",)
    assert plan.reason == PREMIUM_OVER + (
        "latency: fastest meeting quality floor 0.7 -> balanced "
        "(ewma 0.500 s, p95 0.900 s over 10 calls)"
    )
    # premium over the budget but not the fastest: the pick stands and its reason is made
    figures["balanced"] = LatencyFigures(0.1, 0.2, 10)
    plan = make_plan(CONFIG, inp("latency", "hi"), view(budget=budget(0.004), latency=figures))
    assert plan.order == ("balanced",)
    assert not plan.downgraded
    assert plan.reason == (
        "latency: fastest meeting quality floor 0.7 -> balanced "
        "(ewma 0.100 s, p95 0.200 s over 10 calls; next premium ewma 0.200 s)"
    )


def test_fitted_rows_per_expected_output_match_the_specs() -> None:
    found = candidates(CONFIG, CONFIG.tiers["pro"], None)
    for expected in (1, 256, 10_000, 1_000_000):
        rows = found.fit(expected)
        assert rows is found.fit(expected)  # kept per expected output
        for name, spec, out, room, rpm, tpm, quality, in_cost, out_usd, window in rows:
            assert spec is CONFIG.models[name]
            assert out == min(spec.max_output_tokens, expected)
            assert room == spec.context_window - out == window - out
            assert rpm == (float(spec.rpm) if spec.rpm is not None else None)
            assert (tpm, quality, in_cost) == (spec.tpm, spec.quality, spec.input_cost_per_token)
            assert out_usd == out * spec.output_cost_per_token


def test_two_stable_sorts_rank_as_the_tuple_key() -> None:
    rng = random.Random(5)
    for _ in range(500):
        pool = [f"m{i}" for i in range(rng.randint(1, 8))]
        est = {m: rng.choice((0.0, 0.001, 0.002, 0.5)) for m in pool}
        quality = {m: rng.choice((0.3, 0.5, 0.9)) for m in pool}
        weakness = {m: -q for m, q in quality.items()}
        assert cheapest_first(pool, est, weakness) == sorted(
            pool, key=lambda m: (est[m], -quality[m])
        )
        by_strength = sorted(pool, key=lambda m: (-quality[m], est[m]))
        assert strongest_first(pool, est, weakness) == by_strength
        if len(set(quality.values())) == len(quality):
            assert strongest_first(pool, est, weakness, distinct=True) == by_strength


def test_the_speed_ranking_is_the_tuple_key_s() -> None:
    rng = random.Random(11)
    for _ in range(500):
        pool = [f"m{i}" for i in range(rng.randint(1, 8))]
        if rng.random() < 0.2:  # a tier that lists a model twice
            pool.insert(rng.randrange(len(pool) + 1), rng.choice(pool))
        quality = {m: rng.choice((0.3, 0.5, 0.9)) for m in pool}
        figures = {  # ties (two unmeasured, equal EWMAs) or none
            m: LatencyFigures(rng.choice((0.0, 0.2, 0.4, rng.random())), 1.0, 3)
            for m in pool
            if rng.random() < 0.7
        }
        weakness = {m: -q for m, q in quality.items()}
        ranked = by_speed(pool, figures, weakness)
        assert ranked == sorted(
            pool,
            key=lambda m: (m in figures, figures[m].ewma_s if m in figures else 0.0, -quality[m]),
        )


def _candidates(quality: dict[str, float], good: bool = True) -> Candidates:
    """``good``: with the good-enough sets of each level (as the planner's candidates have);
    without, select_learned tests each model."""
    names = tuple(quality)
    levels = tuple(sorted(set(quality.values())))
    strongest = {q: next(m for m in names if quality[m] >= q) for q in levels}
    weakness = {m: -q for m, q in quality.items()}
    distinct = len(levels) == len(set(names))
    sets = {q: frozenset(m for m in names if quality[m] >= q) for q in levels} if good else {}
    return Candidates(names, (), quality, weakness, levels, 0.0, strongest, {}, distinct, sets)


def test_a_narrowed_earlier_order_is_what_selecting_again_gives() -> None:
    """The latency and learned strategies narrow their first selection's order to the pool a
    budget downgrade leaves, instead of sorting again: the same order and reason."""
    rng = random.Random(13)
    for _ in range(2000):
        pool = [f"m{i}" for i in range(rng.randint(1, 7))]
        if rng.random() < 0.2:  # a tier that lists a model twice
            pool.insert(rng.randrange(len(pool) + 1), rng.choice(pool))
        quality = {m: rng.choice((0.3, 0.5, 0.7, 0.9)) for m in pool}
        found = _candidates(quality, good=rng.random() < 0.5)
        est = {m: rng.choice((0.001, 0.002, 0.5)) for m in pool}
        gone = {m for m in pool if rng.random() < 0.4}
        part = [m for m in pool if m not in gone] or pool
        removed = [m for m in pool if m not in part]  # as the planner's ``over``

        plan_inp = inp("learned")

        judged = rng.choice((None, *((q, f"needs {q}") for q in found.levels), (0.95, "x")))
        if judged is not None and judged[0] not in found.strongest:
            continue  # a level no candidate has: not a judgement the planner makes
        first = select_learned(judged, pool, found, est, [], plan_inp, True)
        again = select_learned(judged, part, found, est, [], plan_inp)
        needed = judged[0] if judged is not None else 0.0
        fit = [m for m in part if quality[m] >= needed]
        if fit:  # the definition: the good enough cheapest first, then the rest
            cheap = sorted(fit, key=lambda m: (est[m], -quality[m]))
            cheap += sorted((m for m in part if m not in fit), key=lambda m: (est[m], -quality[m]))
            assert again[2] == cheap
        else:  # nothing good enough: strongest first
            assert again[2] == sorted(part, key=lambda m: (-quality[m], est[m]))
        narrowed = select_learned(judged, pool, found, est, [], plan_inp, False, first[2], removed)
        assert narrowed == again
        figures = {m: LatencyFigures(rng.choice((0.1, 0.3)), 0.5, 3) for m in pool[1:]}
        first = by_speed(pool, figures, found.weakness)  # make_plan's brief ranking
        again = fastest(part, figures, found.weakness, 0.5)
        assert fastest(pool, figures, found.weakness, 0.5, first, removed) == again


def test_the_learned_level_matches_the_step_by_step_rule() -> None:
    def by_steps(d: float, t: float, k: int) -> int:
        level = 0
        for j in range(1, k):
            if d >= t * j / (k - 1):
                level = j
        return level

    rng = random.Random(7)
    values = [0.0, 0.5, 1.0, -0.1, math.nan, 0.3333333333333333, 0.6666666666666666]
    for _ in range(3000):
        k = rng.randint(1, 6)
        t = rng.choice((0.0, 0.3, 0.5, 0.8, 1.0, -0.5, rng.random()))
        d = rng.choice((*values, rng.random(), t * rng.randint(0, k) / max(k - 1, 1)))
        assert _level(d, t, _knob(k, t, None)[0]) == by_steps(d, t, k), (d, t, k)


def test_judging_with_the_same_threshold_for_candidate_sets_of_different_sizes() -> None:
    """judge finds a share-less knob by the threshold alone: alternating between tiers with
    different numbers of levels (and a share knob in between) must still use each one's steps."""

    def level_of(d: float, t: float, k: int) -> int:
        return max((j for j in range(k) if j == 0 or d >= t * j / (k - 1)), default=0)

    rng = random.Random(11)
    sets = [(0.5,), (0.5, 0.9), (0.3, 0.5, 0.7, 0.9), tuple(i / 10 for i in range(1, 8))]
    for _ in range(500):
        levels = rng.choice(sets)
        t = rng.choice((0.5, 0.8))
        share = rng.choice((None, None, 0.25))
        d = rng.random()
        attrs: dict[str, AttributeValue] = {}
        needed, text = judge(LearnedInput(d, t, share), levels, attrs)
        assert needed == levels[level_of(d, t, len(levels))], (d, t, levels)
        assert attrs["learned.required_quality"] == needed
        assert f"({'strong_share 0.25' if share else 'threshold'})" in text


def test_moving_a_model_first_keeps_the_rest_in_order_and_drops_its_copies() -> None:
    assert _first(["a", "b", "c"], "a") == ["a", "b", "c"]
    assert _first(["a", "b", "c"], "c") == ["c", "a", "b"]
    assert _first(["a", "c", "b", "c"], "c") == ["c", "a", "b"]
    assert _first(["a", "b", "c"], "c", unique=True) == ["c", "a", "b"]
    assert _first(["b", "a"], "b", unique=True) == ["b", "a"]


def test_candidates_know_whether_a_model_is_listed_twice() -> None:
    # _first looks for a second copy only when the candidates have one
    tier = dataclasses.replace(CONFIG.tiers["pro"], models=("cheap", "premium", "cheap"))
    assert not candidates(CONFIG, tier, None).unique
    assert candidates(CONFIG, CONFIG.tiers["pro"], None).unique


def test_assignments_are_kept_per_user_and_made_again_for_a_new_spec() -> None:
    spec = ExperimentSpec(
        name="kept", control="a", treatment="b", treatment_share=0.5, enabled=True
    )
    user = RequestContext(user_id="u-kept")
    first = assign(spec, user)
    assert assign(spec, RequestContext(user_id="u-kept")) is first
    everyone = dataclasses.replace(spec, treatment_share=1.0)
    assert assign(everyone, user).arm == "treatment"
    nobody = dataclasses.replace(spec, treatment_share=0.0)
    assert assign(nobody, user).arm == "control"
    assert assign(spec, user) == first


def test_a_configured_number_reads_as_its_f_string_kept_or_not() -> None:
    for x in (0.7, 0.7, 1, 1.0, True, 0.0, -0.0, 0, 1e-7, 0.1 + 0.2, "0.6"):
        assert shown(x) == f"{x}"


@pytest.mark.parametrize("strategy", ["latency", "learned", "complexity"])
def test_latency_learned_complexity_as_a_semantic_fallthrough_plan_as_when_selected_directly(
    strategy: str,
) -> None:
    """make_plan selects for these three itself (twice when a model is over the budget); as the
    fallthrough of a semantic miss latency and learned go through the Selector (complexity
    through make_plan's own branch for a miss): the same plan, the semantic lead aside."""
    tier = dataclasses.replace(CONFIG.tiers["pro"], quality_floor=0.0)  # no floor either way
    miss = Preselection(None, "best route chat (0.4120) below threshold 0.6")
    lead = "semantic: no match (best route chat (0.4120) below threshold 0.6); "
    rng = random.Random(5)
    seen = 0
    for _ in range(300):
        figures = {
            m: LatencyFigures(rng.choice((0.1, 0.2, 0.5)), 0.9, 10)
            for m in ("premium", "balanced", "cheap", "local")
            if rng.random() < 0.8
        }
        learned = LearnedInput(rng.choice((0.0, 0.3, 0.6, 0.9)), 0.5)
        state = view(budget=budget(rng.choice((None, 0.0001, 0.001, 0.004, 1.0))))
        state = dataclasses.replace(state, latency=figures)
        text = rng.choice(("hi", "Please analyze the trade-offs, step by step, and prove it"))
        direct_inp = dataclasses.replace(inp(strategy, text, learned=learned), tier=tier)
        semantic_inp = dataclasses.replace(
            direct_inp, strategy="semantic", preselection=miss, fallthrough=strategy
        )
        try:
            direct = make_plan(CONFIG, direct_inp, state)
        except RouterError as error:  # the same refusal either way
            with pytest.raises(type(error)):
                make_plan(CONFIG, semantic_inp, state)
            continue
        seen += same_but_the_lead(make_plan(CONFIG, semantic_inp, state), direct, lead)
    assert seen > 10  # downgrades happened
