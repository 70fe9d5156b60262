"""DifficultyScorer: encoder + cheap features + model, with scored prompts memoised.

A scored prompt's difficulty and feature row (embedding then cheap features; the row is kept
for feedback) are memoised per exact prompt text, so a repeated prompt costs one dict lookup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..semantic.encoders import Encoder, LocalMiniLMEncoder, normalize_rows
from .features import FEATURE_COUNT, cheap_features
from .memo import PromptMemo
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
        cache_size: int = 4096,
        cache_ttl: float = 3600.0,
        source: str = "",
        key: str = "routing.learned.model",
    ) -> None:
        model.check_encoder(encoder.name, encoder.dimension, source=source, key=key)
        self.model = model
        self.encoder = encoder
        self.source = source
        self._memo: PromptMemo[tuple[float, F32, bool]] | None = (
            PromptMemo(cache_size, cache_ttl) if cache_size > 0 else None
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
        return cls(
            model,
            encoder or encoder_for(model),
            cache_size=cache_size,
            cache_ttl=cache_ttl,
            source=str(source),
            key=key,
        )

    def features(self, text: str) -> tuple[F32, bool]:
        """(feature row, truncated): the encoder and the cheap features, never memoised."""
        encoded = self.encoder.encode([text])
        vector = normalize_rows(encoded.vectors)[0]
        row = np.concatenate([vector, cheap_features(text)]).astype(np.float32)
        row.flags.writeable = False  # shared by the memo and feedback records
        return row, encoded.truncated[0]

    def score(self, text: str) -> Difficulty:
        start = time.perf_counter()
        memo = self._memo
        if memo is not None:
            hit = memo.get(text)
            if hit is not None:
                return Difficulty(hit[0], hit[1], True, hit[2], time.perf_counter() - start)
        row, truncated = self.features(text)
        value = self.model.difficulty(row)
        if memo is not None:
            memo.set(text, (value, row, truncated))
        return Difficulty(value, row, False, truncated, time.perf_counter() - start)
