from __future__ import annotations

import pytest

from llm_router_middleware.resilience import REDACTED, redact


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("key sk-secret-123 was rejected", "sk-secret-123"),
        ("Incorrect API key provided: sk-proj-abc***********wxyz.", "sk-proj-abc"),
        ("anthropic sk-ant-api03-AbCdEfGhIjKlMnOp", "sk-ant-api03"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("GET https://api.x.test/v1/models?key=AIzaSyA1234567890abcdefghijklmnopqrstu", "AIzaSy"),
        ("https://h.test/v1?foo=1&api_key=abc123def456&bar=2", "abc123def456"),
        ("https://h.test/v1?access_token=tok_998877", "tok_998877"),
        ("aws AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ('{"api_key": "plain-looking-value"}', "plain-looking-value"),
        ("x-api-key: 0123456789abcdef", "0123456789abcdef"),
        ("password=hunter22 failed", "hunter22"),
        ("proxy http://user:pa55word@proxy.test:8080 down", "pa55word"),
        ("token hf_abcdefghijklmnopqrstuvwx leaked", "hf_abcdefghij"),
        ("groq gsk_abcdefghijklmnopqrstuvwx leaked", "gsk_abcdef"),
    ],
)
def test_key_shapes_are_removed(text: str, leaked: str) -> None:
    out = redact(text)
    assert leaked not in out
    assert REDACTED in out


def test_given_secrets_are_removed_anywhere() -> None:
    out = redact("the key was my-custom-secret-value!", secrets=["my-custom-secret-value"])
    assert out == f"the key was {REDACTED}!"


def test_longest_secret_wins() -> None:
    out = redact("abcdef-123456", secrets=["abcdef", "abcdef-123456"])
    assert out == REDACTED


def test_short_and_empty_secrets_are_ignored() -> None:
    assert redact("a b c", secrets=["", "a", "b"]) == "a b c"


@pytest.mark.parametrize(
    "text",
    [
        "Rate limit reached for requests. Please try again later.",
        "This model's maximum context length is 8192 tokens.",
        "task-force meeting about risk-assessment",
        "Bearer tokens are required",
        "The api key is missing",
        "https://api.openai.com/v1/chat/completions",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "sk-secret-123 Bearer abcdefghijkl api_key=xyz12345 https://u:p@h.test?key=q1w2e3r4",
        'authorization: Basic dXNlcjpw {"password": "x"} AKIAIOSFODNN7EXAMPLE',
        "nothing to see",
    ],
)
def test_idempotent(text: str) -> None:
    once = redact(text, secrets=["q1w2e3r4"])
    assert redact(once, secrets=["q1w2e3r4"]) == once
    assert redact(once) == once
