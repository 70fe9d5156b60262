"""A budget can be overrun by a call's actual cost beyond its estimate, never by a trick: a
negative or non-integer max_tokens is refused before planning, a reservation is never negative."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from llm_router_middleware import BudgetExhaustedError, InvalidRequestError, RequestContext, Router
from llm_router_middleware.routing import Reservation
from llm_router_middleware.testing import Behavior, FakeProvider

HI = [{"role": "user", "content": "hi"}]
USER = RequestContext(user_id="u1")


@pytest.mark.parametrize("max_tokens", [-100_000, 0, 1.5, "100", True])
def test_a_spent_budget_cannot_be_bypassed_with_max_tokens(
    make_router: Callable[..., Router], fake_provider: FakeProvider, max_tokens: object
) -> None:
    router = make_router(budgets={"per_user_usd": 0.0001})
    router.ledger.reserve("u1", "default", 0.0001)  # the user's budget is spent
    fake_provider.clear()
    with pytest.raises(InvalidRequestError) as caught:
        router.complete(HI, USER, max_tokens=max_tokens)
    assert caught.value.param == "max_tokens"
    assert fake_provider.count() == 0
    assert router.ledger.spent("u1", "default")["user:u1"] == pytest.approx(0.0001)


@pytest.mark.parametrize("amount", [-0.5, math.nan, math.inf])
def test_a_reservation_is_never_negative_or_not_finite(
    make_router: Callable[..., Router], amount: float
) -> None:
    router = make_router(budgets={"per_user_usd": 1.0})
    with pytest.raises(ValueError, match="finite amount >= 0"):
        router.ledger.reserve("u1", "default", amount)
    with pytest.raises(InvalidRequestError):
        router.plan(HI, USER, expected_output_tokens=-5)


def test_spend_never_exceeds_the_budget_by_more_than_one_calls_overrun(
    make_router: Callable[..., Router], fake_provider: FakeProvider
) -> None:
    """Each call reserves its estimate (prompt + max_tokens) before it starts and settles its
    actual cost after: a scope ends at most one call's overrun (actual - estimate) above its
    limit, and only when the provider reports more tokens than we counted."""
    limit = 0.002
    router = make_router(budgets={"per_user_usd": limit})
    fake_provider.set_default(Behavior(prompt_tokens=40, completion_tokens=30))
    overruns = []
    for _ in range(1000):
        try:
            routing = router.complete(HI, USER, max_tokens=30).routing
        except BudgetExhaustedError:
            break
        overruns.append(routing.cost_usd - routing.estimated_cost_usd)
    else:
        pytest.fail("the budget never ran out")
    spent = router.ledger.spent("u1", "default")["user:u1"]
    assert overruns
    assert spent <= limit + max(max(overruns), 0.0) + 1e-12
    assert isinstance(router.ledger.reserve("u1", "default", 0.0), Reservation)
