from __future__ import annotations

import json
import math

import pytest

from llm_router_middleware.config.schema import ExperimentSpec
from llm_router_middleware.context import RequestContext
from llm_router_middleware.routing import (
    BUCKETS,
    Assignment,
    ExperimentLog,
    ExperimentReport,
    assign,
    bucket_of,
)
from llm_router_middleware.routing.stats import mean_ci, t_cdf, t_critical, welch, wilson
from llm_router_middleware.state import MemoryStore

SPEC = ExperimentSpec(
    name="prompt-v2", control="cheap", treatment="premium", treatment_share=0.3, enabled=True
)


def test_bucket_of_is_pinned() -> None:
    # sha256("experiment:user")[:8] big-endian mod 10,000: a change of hash breaks these.
    assert bucket_of("prompt-v2", "u1") == 2854
    assert bucket_of("prompt-v2", "u2") == 8609
    assert bucket_of("other", "u1") == 1101
    assert bucket_of("", "") == 4368


def test_bucket_of_range_and_independence_between_experiments() -> None:
    buckets = [bucket_of("a", f"user-{i}") for i in range(2000)]
    assert all(0 <= b < BUCKETS for b in buckets)
    others = [bucket_of("b", f"user-{i}") for i in range(2000)]
    assert sum(x == y for x, y in zip(buckets, others, strict=True)) < 10


@pytest.mark.parametrize("share", [0.1, 0.3, 0.5, 0.9])
def test_split_matches_treatment_share(share: float) -> None:
    spec = ExperimentSpec("split", "cheap", "premium", share, True)
    treated = sum(
        assign(spec, RequestContext(user_id=f"user-{i}")).arm == "treatment" for i in range(10_000)
    )
    assert abs(treated / 10_000 - share) <= 0.02


def test_assignment_is_stable_and_explained() -> None:
    ctx = RequestContext(user_id="u1")
    a = assign(SPEC, ctx)
    assert a == assign(SPEC, ctx)
    assert a == Assignment(
        "treatment", "premium", 2854, "experiment prompt-v2: bucket 2854 < 3000 -> treatment"
    )
    b = assign(SPEC, RequestContext(user_id="u2"))
    assert (b.arm, b.model, b.enrolled) == ("control", "cheap", True)
    assert "8609 >= 3000" in b.reason


def test_share_edges() -> None:
    none = ExperimentSpec("e", "cheap", "premium", 0.0, True)
    all_ = ExperimentSpec("e", "cheap", "premium", 1.0, True)
    users = [RequestContext(user_id=f"u{i}") for i in range(500)]
    assert {assign(none, u).arm for u in users} == {"control"}
    assert {assign(all_, u).arm for u in users} == {"treatment"}


def test_anonymous_disabled_and_pinned_are_not_enrolled() -> None:
    anon = assign(SPEC, RequestContext())
    assert (anon.arm, anon.bucket, anon.enrolled) == ("control", None, False)
    assert "anonymous: not enrolled" in anon.reason

    off = assign(
        ExperimentSpec("prompt-v2", "cheap", "premium", 1.0, False), RequestContext(user_id="u1")
    )
    assert (off.arm, off.model, off.enrolled) == ("control", "cheap", False)
    assert "disabled" in off.reason

    pinned = assign(SPEC, RequestContext(user_id="u2", arms={"prompt-v2": "treatment"}))
    assert (pinned.arm, pinned.model, pinned.pinned, pinned.enrolled) == (
        "treatment",
        "premium",
        True,
        False,
    )
    assert "pinned" in pinned.reason
    bogus = assign(SPEC, RequestContext(user_id="u1", arms={"prompt-v2": "blue"}))
    assert (bogus.arm, bogus.enrolled) == ("control", False)
    other = assign(SPEC, RequestContext(user_id="u1", arms={"another": "control"}))
    assert other.arm == "treatment"


def test_results_count_fallbacks_apart_from_successes() -> None:
    log = ExperimentLog(MemoryStore(), prefix="t")
    for _ in range(8):
        log.record("e", "treatment", outcome="success", latency_s=0.5, cost_usd=0.01)
    log.record("e", "treatment", outcome="fallback", latency_s=1.5, cost_usd=0.002)
    log.record("e", "treatment", outcome="failure", latency_s=2.5, cost_usd=0.0)
    log.record("e", "control", outcome="success", latency_s=0.2, cost_usd=0.001)
    report = log.results("e")
    t = report.treatment
    assert (t.requests, t.successes, t.fallbacks, t.failures) == (10, 8, 1, 1)
    assert t.success_rate == pytest.approx(0.8)
    assert t.success_ci[0] < 0.8 < t.success_ci[1]
    assert t.mean_latency_s == pytest.approx(0.8)
    assert t.cost_usd == pytest.approx(0.082)
    assert report.control.requests == 1
    assert report.difference is None
    with pytest.raises(ValueError, match="outcome"):
        log.record("e", "control", outcome="ok", latency_s=0, cost_usd=0)


def test_scores_later_once_per_request_and_expire() -> None:
    now = [1_000_000.0]
    store = MemoryStore(clock=lambda: now[0])
    log = ExperimentLog(store, prefix="t", clock=lambda: now[0])
    log.remember("req-1", "e", "treatment")
    log.remember("req-2", "e", "control", ttl_s=60)
    assert log.score("req-1", 0.9) is True
    assert log.score("req-1", 0.1) is False  # a second score does not count
    assert log.score("unknown", 1.0) is False
    now[0] += 61
    assert log.score("req-2", 1.0) is False  # expired
    report = log.results("e")
    assert report.treatment.score_n == 1
    assert report.treatment.score_mean == pytest.approx(0.9)
    assert report.control.score_n == 0
    assert report.control.score_mean is None


def test_report_difference_and_json() -> None:
    log = ExperimentLog(MemoryStore(), prefix="t")
    for i in range(40):
        for arm, base in (("control", 0.5), ("treatment", 0.7)):
            log.remember(f"{arm}-{i}", "e", arm)
            log.record("e", arm, outcome="success", latency_s=0.1, cost_usd=0.0)
            assert log.score(f"{arm}-{i}", base + (i % 5) * 0.05)
    report = log.results("e")
    assert isinstance(report, ExperimentReport)
    d = report.difference
    assert d is not None
    assert d.mean_diff == pytest.approx(0.2)
    assert d.ci_low < 0.2 < d.ci_high
    assert d.p_value < 1e-6
    data = json.loads(json.dumps(report.to_dict()))
    assert data["experiment"] == "e"
    assert data["arms"]["treatment"]["score_n"] == 40
    assert data["difference"]["mean_diff"] == pytest.approx(0.2)


# --- statistics against values from scipy / textbooks -------------------------------------


def test_t_distribution() -> None:
    assert t_critical(1) == pytest.approx(12.7062, rel=1e-4)
    assert t_critical(10) == pytest.approx(2.2281, rel=1e-4)
    assert t_critical(1e6) == pytest.approx(1.95996, rel=1e-4)
    assert t_cdf(0.0, 5) == pytest.approx(0.5)
    assert t_cdf(2.015, 5) == pytest.approx(0.95, abs=1e-4)
    assert t_cdf(-2.015, 5) == pytest.approx(0.05, abs=1e-4)


def test_wilson_interval() -> None:
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(0, 20)
    assert low == 0.0
    assert 0.1 < high < 0.2


def test_mean_ci() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    mean, low, high = mean_ci(len(values), sum(values), sum(v * v for v in values))
    assert mean == pytest.approx(5.0)
    half = 2.3646 * math.sqrt(32 / 7 / 8)
    assert low == pytest.approx(5.0 - half, rel=1e-3)
    assert high == pytest.approx(5.0 + half, rel=1e-3)
    assert mean_ci(0, 0, 0) == (None, None, None)
    assert mean_ci(1, 3.0, 9.0) == (3.0, None, None)


def test_welch_matches_scipy() -> None:
    a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]

    def totals(xs: list[float]) -> tuple[float, float, float]:
        return float(len(xs)), sum(xs), sum(x * x for x in xs)

    d = welch(totals(a), totals(b))
    assert d is not None
    # scipy 1.17 stats.ttest_ind(b, a, equal_var=False) and its confidence_interval()
    assert d.t == pytest.approx(2.455356398286006, rel=1e-9)
    assert d.p_value == pytest.approx(0.021378001462866992, rel=1e-6)
    assert d.df == pytest.approx(24.988529290231416, rel=1e-9)
    assert d.ci_low == pytest.approx(0.3492370661924069, rel=1e-6)
    assert d.ci_high == pytest.approx(3.984096267140929, rel=1e-6)
    assert welch((1, 1.0, 1.0), totals(b)) is None
    same = welch((3, 3.0, 3.0), (3, 3.0, 3.0))
    assert same is not None
    assert same.p_value == 1.0
