"""SemanticRouter: settings + encoder + route matrix + query cache behind four calls."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from llm_router_middleware.errors import ConfigError
from llm_router_middleware.semantic.auto_threshold import AutoThreshold, auto_threshold
from llm_router_middleware.semantic.background import background_vectors
from llm_router_middleware.semantic.cache import BytesCache, MemoryBytesCache, QueryEmbeddingCache
from llm_router_middleware.semantic.encoders import (
    Encoder,
    LiteLLMEncoder,
    LocalMiniLMEncoder,
    normalize_rows,
)
from llm_router_middleware.semantic.index import RouteIndex, SemanticDecision
from llm_router_middleware.semantic.settings import SemanticSettings
from llm_router_middleware.semantic.text import routable_text

logger = logging.getLogger(__name__)


def build_encoder(settings: SemanticSettings) -> Encoder:
    """The encoder the settings name; an api key is read from `api_key_env` at this moment."""
    if settings.encoder == "litellm":
        assert settings.model is not None  # checked by SemanticSettings
        api_key: str | None = None
        if settings.api_key_env:
            api_key = os.environ.get(settings.api_key_env)
            if not api_key:
                raise ConfigError(
                    "routing.semantic.api_key_env",
                    f"environment variable {settings.api_key_env} is not set",
                )
        return LiteLLMEncoder(settings.model, api_base=settings.api_base, api_key=api_key)
    if settings.max_tokens is not None:
        return LocalMiniLMEncoder(max_tokens=settings.max_tokens, threads=settings.threads)
    return LocalMiniLMEncoder(threads=settings.threads)


class SemanticRouter:
    """Routes a prompt to the route whose examples it is closest to.

    The encoder and the route matrix are built lazily on first use (or by `warm()`), once.
    An empty prompt is not embedded: it gets the default route (or None), with `empty=True`.
    """

    def __init__(
        self,
        settings: SemanticSettings,
        encoder: Encoder | None = None,
        *,
        query_store: BytesCache | None = None,
    ) -> None:
        self.settings = settings
        self._encoder = encoder
        self._index: RouteIndex | None = None
        self.calibration: AutoThreshold | None = None
        self._lock = threading.Lock()
        self._query_store = query_store
        self._queries: QueryEmbeddingCache | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = build_encoder(self.settings)
        return self._encoder

    @property
    def index(self) -> RouteIndex:
        index = self._index
        if index is None:
            index = self.warm()
        return index

    def warm(self) -> RouteIndex:
        """Embed the route examples now (or load them from the disk cache)."""
        encoder = self.encoder
        with self._lock:
            if self._index is None:
                s = self.settings
                given = [s.threshold_for(r) for r in s.routes]
                index = RouteIndex.build(
                    [(r.name, r.utterances) for r in s.routes],
                    encoder,
                    [0.0 if t is None else t for t in given],
                    aggregation=s.aggregation,
                    default_route=s.default_route,
                    cache_dir=s.cache_dir,
                )
                if s.needs_calibration:
                    self.calibration = auto_threshold(
                        index.matrix,
                        index.counts,
                        background_vectors(encoder, s.cache_dir),
                        aggregation=s.aggregation,
                    )
                    logger.info("semantic routing: %s", self.calibration.summary())
                    auto = self.calibration.threshold
                    index = index.with_thresholds([auto if t is None else t for t in given])
                self._index = index
                store = self._query_store
                if store is None and s.query_cache_size > 0:
                    store = MemoryBytesCache(s.query_cache_size, s.query_cache_ttl)
                if store is not None:
                    self._queries = QueryEmbeddingCache(store, encoder.name)
            return self._index

    def embed(self, text: str) -> tuple[npt.NDArray[np.float32], bool, bool]:
        """(unit vector, truncated, came from the query cache)."""
        index = self.index
        del index  # built first, so the query cache exists
        queries = self._queries
        if queries is not None:
            hit = queries.get(text)
            if hit is not None:
                return hit[0], hit[1], True
        encoded = self.encoder.encode([text])
        vector = normalize_rows(encoded.vectors)[0]
        truncated = encoded.truncated[0]
        if queries is not None:
            queries.set(text, vector, truncated)
        return vector, truncated, False

    def decide(self, prompt: str | Sequence[Mapping[str, Any]]) -> SemanticDecision:
        """Decide for a prompt string or OpenAI-style messages (routes on the last user text)."""
        text = routable_text(prompt)
        if not text:
            return self.index.empty_decision()
        vector, truncated, cached = self.embed(text)
        return self.index.decide(vector, cached=cached, truncated=truncated)

    def decide_embedding(
        self, vector: npt.NDArray[np.float32], *, cached: bool = False, truncated: bool = False
    ) -> SemanticDecision:
        """Decide for an already-computed unit vector (no encoder call)."""
        return self.index.decide(vector, cached=cached, truncated=truncated)

    def route_target(self, decision: SemanticDecision, tier: str | None = None) -> str | None:
        """The model the decided route sends `tier` to; None when no route applies."""
        if decision.route is None:
            return None
        return self.settings.route(decision.route).target(tier)
