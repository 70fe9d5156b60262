"""Scrub credentials out of text before it reaches a log, a span or an error message."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"
_MIN_SECRET_LEN = 4

# Provider key shapes. Each match is replaced whole; `*` and `.` cover masked echoes such as
# OpenAI's "Incorrect API key provided: sk-proj-****abcd".
_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-[A-Za-z0-9_*.\-]{6,}"  # OpenAI, Anthropic (sk-ant-), DeepSeek, OpenRouter (sk-or-)
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|AIza[A-Za-z0-9_\-]{30,}"  # Google API key
    r"|(?:gsk|hf|ghp|gho|ghs|ghu|ghr|xox[abpr])_[A-Za-z0-9_\-]{16,}"  # Groq, HF, GitHub, Slack
    r"|xai-[A-Za-z0-9]{16,}"  # xAI
    r")"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}")
_BASIC = re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?basic\s+)[A-Za-z0-9+/=]+")
_QUERY = re.compile(
    r"(?i)([?&;](?:key|api[_-]?key|access[_-]?token|token|sig|signature|secret|password)=)"
    r"[^&#\s\"'<>]+"
)
_FIELD = re.compile(
    r"(?i)\b((?:x-)?api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret"
    r"|secret[_-]?(?:access[_-]?)?key|aws[_-]secret[_-]access[_-]key|password)"
    r"([\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[REDACTED\])[^\s\"',;&}<>]+"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove the given secrets and anything shaped like a credential. Idempotent."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LEN and secret not in REDACTED:
            text = text.replace(secret, REDACTED)
    text = _KEY_SHAPES.sub(REDACTED, text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    text = _BASIC.sub(rf"\1{REDACTED}", text)
    text = _QUERY.sub(rf"\1{REDACTED}", text)
    text = _FIELD.sub(rf"\1\2{REDACTED}", text)
    return _USERINFO.sub(rf"\1{REDACTED}@", text)
