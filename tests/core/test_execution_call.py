"""The Call an Execution starts for an attempt (built field by field, without __init__)."""

from __future__ import annotations

from dataclasses import fields

from core_support import base_config

from llm_router_middleware import RequestContext, Router
from llm_router_middleware.execution import Call, Execution
from llm_router_middleware.testing import FakeProvider

HI = [{"role": "user", "content": "hi"}]


def test_a_started_call_has_every_field_of_the_dataclass(fake_provider: FakeProvider) -> None:
    router = Router.from_config(base_config(fake_provider, "native"))
    execution = Execution(router, router.prepare(HI, RequestContext(user_id="u")), {})
    call = execution.next_call()
    assert call is not None
    assert Call(**{f.name: getattr(call, f.name) for f in fields(Call)}) == call
    assert (call.index, call.counted, call.tokens, call.retry) == (0, False, None, 0)
    assert call.spec.name == execution.plan.order[0]
    assert call.kwargs["messages"] == HI
