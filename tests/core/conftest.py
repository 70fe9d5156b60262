"""Core fixtures: a router over three fake models, and spans captured in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from core_support import EXPORTER, Spans, base_config

from llm_router_middleware import Router
from llm_router_middleware.testing import FakeProvider


@pytest.fixture
def spans() -> Iterator[Spans]:
    EXPORTER.clear()
    yield Spans()
    EXPORTER.clear()


@pytest.fixture(params=["litellm", "native"])
def transport(request: pytest.FixtureRequest) -> str:
    """Provider-behaviour tests run on both transports, against the same fake provider."""
    name: str = request.param
    return name


@pytest.fixture
def make_router(fake_provider: FakeProvider, transport: str) -> Callable[..., Router]:
    def build(**sections: Any) -> Router:
        return Router.from_config(base_config(fake_provider, transport, **sections))

    return build
