"""The encoder-candidates harness: its static-model pooling and its route-file scoring."""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llm_router_middleware.semantic import Encoded

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def candidates(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import semantic_encoder_candidates

    return semantic_encoder_candidates


def _static_model(folder: Path) -> None:
    """A 4-token vocabulary (<unk>, a, b, c) mapped onto 2 int8 vectors of 3 dimensions."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"<unk>": 0, "a": 1, "b": 2, "c": 3}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    tensors = {
        "mapping": ("I64", [4], np.array([0, 0, 1, 0], np.int64)),
        "weights": ("F32", [4], np.array([9.0, 1.0, 3.0, 2.0], np.float32)),
        "embeddings": ("I8", [2, 3], np.array([[1, 0, 0], [0, 2, 0]], np.int8)),
    }
    header: dict[str, Any] = {}
    body = b""
    for name, (dtype, shape, values) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(body), len(body) + values.nbytes],
        }
        body += values.tobytes()
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + body)


def test_static_encoder_pools_the_weighted_token_vectors(candidates: Any, tmp_path: Path) -> None:
    _static_model(tmp_path)
    encoder = candidates.StaticEncoder(tmp_path)
    out = encoder.encode(["a b", "c", "zzz", ""])
    assert out.vectors.shape == (4, 3)
    # "a b": 1 * [1, 0, 0] + 3 * [0, 2, 0] -> [1, 6, 0], normalised
    expected = np.array([1.0, 6.0, 0.0]) / np.sqrt(37.0)
    assert np.allclose(out.vectors[0, :3], expected, atol=1e-6)
    assert np.allclose(out.vectors[1, :3], [1.0, 0.0, 0.0])  # c maps onto vector 0
    # an unknown word is dropped, as the package's Rust code does: nothing left -> a zero row
    assert not out.vectors[2].any()
    assert not out.vectors[3].any()
    assert out.truncated == (False,) * 4


class _KeywordEncoder:
    """'weather ...' -> e0, 'music ...' -> e1, anything else -> a unit vector in dims 2-7."""

    name = "test:keywords"
    dimension = 8
    max_tokens = None

    def encode(self, texts: Sequence[str]) -> Encoded:
        rows = np.zeros((len(texts), 8), np.float32)
        for i, text in enumerate(texts):
            word = text.split()[0] if text.split() else ""
            if word in ("weather", "music"):
                rows[i, ("weather", "music").index(word)] = 1.0
            else:
                rng = np.random.default_rng(zlib.crc32(text.encode()))
                rows[i, 2:] = rng.random(6) + 0.1
                rows[i] /= np.linalg.norm(rows[i])
        return Encoded(rows, (False,) * len(texts))


def test_route_file_scores_with_the_auto_threshold(candidates: Any, tmp_path: Path) -> None:
    lines = [
        {"route": route, "text": f"{route} {k}", "split": "examples"}
        for route in ("weather", "music")
        for k in range(5)
    ]
    lines += [{"route": "weather", "text": "weather in Paris", "split": "test"}]
    lines += [{"route": "music", "text": "music by Bach", "split": "test"}]
    lines += [{"route": "weather", "text": "music for a rainy day", "split": "test"}]  # missed
    lines += [{"route": None, "text": "order a pizza", "split": "test"}]
    path = tmp_path / "routes.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    summary = candidates.route_file(_KeywordEncoder(), path)
    # overall 3 of 4, in scope 2 of 3, the out-of-scope line kept out
    assert summary.startswith("0.750 / 0.667 / 1.000 (auto threshold ")
