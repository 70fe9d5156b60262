"""A/B experiments end to end: stable arms, per-arm results, fallbacks kept out of an arm."""

from __future__ import annotations

import pytest
from core_support import base_config

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.routing import bucket_of
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
EXPERIMENT = {
    "name": "premium-vs-balanced",
    "control": "premium",
    "treatment": "balanced",
    "treatment_share": 0.5,
}


@pytest.fixture
def router(fake_provider: FakeProvider) -> Router:
    return Router.from_config(
        base_config(
            fake_provider,
            routing={
                "strategy": "experiment",
                "fallbacks": ["premium", "balanced", "cheap"],
                "experiment": EXPERIMENT,
            },
        )
    )


def user_in(arm: str) -> str:
    for i in range(1000):
        user = f"user-{i}"
        if (bucket_of("premium-vs-balanced", user) < 5000) == (arm == "treatment"):
            return user
    raise AssertionError("no user found")


def test_arms_are_stable_and_results_are_recorded_per_arm(router: Router) -> None:
    control, treatment = user_in("control"), user_in("treatment")
    for _ in range(3):
        assert router.plan(HI, RequestContext(user_id=control)).arm == "control"
        assert router.plan(HI, RequestContext(user_id=treatment)).arm == "treatment"
    a = router.complete(HI, RequestContext(user_id=control))
    b = router.complete(HI, RequestContext(user_id=treatment))
    assert (a.routing.model, a.routing.arm) == ("premium", "control")
    assert (b.routing.model, b.routing.arm) == ("balanced", "treatment")
    assert router.record_score(a.routing.request_id, 1.0) is True
    assert router.record_score(a.routing.request_id, 1.0) is False  # counted once
    assert router.record_score(b.routing.request_id, 0.0) is True
    report = router.experiment_results()
    assert report.control.requests == 1
    assert report.control.successes == 1
    assert report.control.score_n == 1
    assert report.control.score_mean == 1.0
    assert report.treatment.score_mean == 0.0
    assert report.to_dict()["experiment"] == "premium-vs-balanced"


def test_a_fallback_is_not_the_arms_success(router: Router, fake_provider: FakeProvider) -> None:
    treatment = user_in("treatment")
    fake_provider.set("fake-balanced", Behavior(status=503))
    reply = router.complete(HI, RequestContext(user_id=treatment))
    assert reply.routing.model != "balanced"
    assert router.record_score(reply.routing.request_id, 1.0) is False
    report = router.experiment_results()
    assert report.treatment.requests == 1
    assert report.treatment.successes == 0
    assert report.treatment.fallbacks == 1


def test_anonymous_users_are_not_enrolled(router: Router) -> None:
    plan = router.plan(HI, RequestContext())
    assert plan.arm is None
    assert plan.selected == "premium"
    assert "anonymous" in plan.reason
