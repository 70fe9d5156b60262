"""DifficultyScorer: encoder + cheap features + model, with the prompt's features cached.

The feature row (embedding then cheap features) is cached per prompt text in the same bytes
store shape as semantic routing's query cache, under its own namespace, so a repeated prompt
costs one dictionary read and one dot product.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..semantic.cache import BytesCache, MemoryBytesCache, QueryEmbeddingCache
from ..semantic.encoders import Encoder, LocalMiniLMEncoder, normalize_rows
from .features import FEATURE_COUNT, cheap_features
from .model import DEFAULT_MODEL_PATH, F32, DifficultyModel


def default_encoder(threads: int = 1, max_tokens: int | None = None) -> Encoder:
    """The project's local encoder, reading at most ``max_tokens`` tokens of a prompt
    (default: the encoder's own cap)."""
    if max_tokens is None:
        return LocalMiniLMEncoder(threads=threads)
    return LocalMiniLMEncoder(threads=threads, max_tokens=max_tokens)


def encoder_for(model: DifficultyModel) -> Encoder:
    """The local encoder with the token cap the model was trained with (its header's
    ``max_tokens``); a model of another encoder is refused by ``check_encoder``."""
    cap = model.meta.get("max_tokens")
    return default_encoder(max_tokens=int(cap) if isinstance(cap, int) else None)


def feature_rows(encoder: Encoder, texts: list[str]) -> F32:
    """Embeddings and cheap features of many texts, one row each (for training)."""
    if not texts:
        return np.empty((0, encoder.dimension + FEATURE_COUNT), dtype=np.float32)
    vectors = normalize_rows(encoder.encode(texts).vectors)
    cheap = np.asarray([cheap_features(t) for t in texts], dtype=np.float32)
    return np.ascontiguousarray(np.hstack([vectors, cheap]), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Difficulty:
    value: float  # in [0, 1]
    features: F32  # the row the model read (kept for feedback)
    cached: bool
    truncated: bool
    seconds: float  # time to score, embedding included when not cached


class DifficultyScorer:
    def __init__(
        self,
        model: DifficultyModel,
        encoder: Encoder,
        *,
        cache: BytesCache | None = None,
        source: str = "",
        key: str = "routing.learned.model",
    ) -> None:
        model.check_encoder(encoder.name, encoder.dimension, source=source, key=key)
        self.model = model
        self.encoder = encoder
        self.source = source
        self._cache = (
            QueryEmbeddingCache(cache, encoder.name, "llmr:learnq:") if cache is not None else None
        )

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        encoder: Encoder | None = None,
        cache_size: int = 4096,
        cache_ttl: float = 3600.0,
        key: str = "routing.learned.model",
    ) -> DifficultyScorer:
        source = Path(path) if path is not None else DEFAULT_MODEL_PATH
        model = DifficultyModel.load(source, key=key)
        cache = MemoryBytesCache(cache_size, cache_ttl) if cache_size > 0 else None
        return cls(model, encoder or encoder_for(model), cache=cache, source=str(source), key=key)

    def features(self, text: str) -> tuple[F32, bool, bool]:
        """(feature row, truncated, came from the cache)."""
        cache = self._cache
        if cache is not None:
            hit = cache.get(text)
            if hit is not None:
                return hit[0], hit[1], True
        encoded = self.encoder.encode([text])
        vector = normalize_rows(encoded.vectors)[0]
        row = np.concatenate([vector, cheap_features(text)]).astype(np.float32)
        truncated = encoded.truncated[0]
        if cache is not None:
            cache.set(text, row, truncated)
        return row, truncated, False

    def score(self, text: str) -> Difficulty:
        start = time.perf_counter()
        row, truncated, cached = self.features(text)
        value = self.model.difficulty(row)
        return Difficulty(value, row, cached, truncated, time.perf_counter() - start)
