"""The shipped background prompts: generic requests from unrelated domains, used as negatives.

266 prompts (math, code, trivia, science, commonsense, reading comprehension, logic puzzles...)
taken from the LLMRouter data (MIT; see assets/NOTICE) by benchmarks/semantic_background.py.
Their embeddings by the default local encoder ship beside them (float16), so startup
calibration embeds nothing; any other encoder embeds them once and keeps them in the disk cache.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from llm_router_middleware.semantic.encoders import (
    LOCAL_ENCODER_NAME,
    Encoder,
    FloatMatrix,
    normalize_rows,
)
from llm_router_middleware.semantic.index import load_matrix, matrix_cache_path, save_matrix

ASSETS = Path(__file__).parent / "assets"
BACKGROUND_PROMPTS = ASSETS / "background_prompts.jsonl"
BACKGROUND_VECTORS = ASSETS / "background_minilm.npy"


@cache
def background_texts() -> tuple[str, ...]:
    lines = BACKGROUND_PROMPTS.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line)["text"] for line in lines if line.strip())


def background_vectors(encoder: Encoder, cache_dir: Path | None = None) -> FloatMatrix:
    """Unit rows, one per background prompt, in `encoder`'s space."""
    texts = background_texts()
    if encoder.name == LOCAL_ENCODER_NAME:
        shipped = np.load(BACKGROUND_VECTORS, allow_pickle=False)
        if shipped.shape == (len(texts), encoder.dimension):
            return normalize_rows(shipped.astype(np.float32))
    path = None
    if cache_dir is not None:
        path = matrix_cache_path(cache_dir, encoder, [("background", texts)])
        cached = load_matrix(path, (len(texts), encoder.dimension))
        if cached is not None:
            return cached
    vectors = normalize_rows(encoder.encode(list(texts)).vectors)
    if path is not None:
        save_matrix(path, vectors)
    return vectors
