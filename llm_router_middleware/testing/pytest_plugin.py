"""pytest fixtures: `fake_provider` and `otlp_receiver`.

Registered through the `pytest11` entry point. Each fixture is a session-wide server
that is reset before every test, so a test costs no server start-up. Nothing heavy is
imported until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from llm_router_middleware.testing.fake_provider import FakeProvider
    from llm_router_middleware.testing.otlp_receiver import OTLPReceiver


@pytest.fixture(scope="session")
def _llm_router_fake_provider_server() -> Iterator[FakeProvider]:
    from llm_router_middleware.testing.fake_provider import FakeProvider

    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def fake_provider(_llm_router_fake_provider_server: FakeProvider) -> Iterator[FakeProvider]:
    """A running OpenAI-compatible fake provider; behaviors and records reset per test."""
    provider = _llm_router_fake_provider_server
    provider.reset()
    yield provider
    provider.reset()


@pytest.fixture(scope="session")
def _llm_router_otlp_receiver_server() -> Iterator[OTLPReceiver]:
    from llm_router_middleware.testing.otlp_receiver import OTLPReceiver

    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def otlp_receiver(_llm_router_otlp_receiver_server: OTLPReceiver) -> Iterator[OTLPReceiver]:
    """A running OTLP/HTTP trace receiver; received spans cleared per test."""
    receiver = _llm_router_otlp_receiver_server
    receiver.clear()
    yield receiver
    receiver.clear()
