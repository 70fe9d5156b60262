"""Test doubles for LLM apps: a fault-injecting OpenAI-compatible provider and an OTLP receiver.

The pytest plugin (`llm_router_middleware.testing.pytest_plugin`) exposes them as the
`fake_provider` and `otlp_receiver` fixtures.
"""

from llm_router_middleware.testing.fake_provider import (
    Behavior,
    FakeProvider,
    RecordedRequest,
    StreamRecord,
)
from llm_router_middleware.testing.otlp_receiver import OTLPReceiver, ReceivedSpan

__all__ = [
    "Behavior",
    "FakeProvider",
    "OTLPReceiver",
    "ReceivedSpan",
    "RecordedRequest",
    "StreamRecord",
]
