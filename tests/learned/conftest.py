from __future__ import annotations

import pytest

from llm_router_middleware.learned.scorer import default_encoder
from llm_router_middleware.learned.train import DEFAULT_MAX_TOKENS
from llm_router_middleware.semantic.encoders import Encoder


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return default_encoder(max_tokens=DEFAULT_MAX_TOKENS)
