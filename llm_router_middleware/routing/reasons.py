"""The texts of rejections and budget messages, formatted only when someone reads them
(see ``Rejection.deferred``).
"""

from __future__ import annotations

_SHOWN: dict[float, str] = {}


def shown(x: object) -> str:
    """``f"{x}"`` of a configured number (a quality, a floor): the same few values on every
    call, so a float's text is kept (float formatting is costly) once it has been made."""
    if x.__class__ is not float or not x:  # an int, or a zero whose sign the key would lose
        return f"{x}"
    assert isinstance(x, float)
    text = _SHOWN.get(x)
    if text is None:
        if len(_SHOWN) > 1024:  # configured values are few: stay bounded
            _SHOWN.clear()
        text = _SHOWN[x] = f"{x}"
    return text


def usd(x: float) -> str:
    # %-format: as f"${x:.6f}", in fewer steps
    return ("$%.6f" % x).rstrip("0").rstrip(".") if x else "$0"  # noqa: UP031


def why_window(name: str, pt: int, out: int, window: int) -> str:
    return f"{name}: needs {pt + out} tokens ({pt} prompt + {out} output) > context window {window}"


def why_text(name: str, text: str) -> str:
    return f"{name}: {text}"


def why_cooldown(name: str, left: float) -> str:
    return f"{name}: cooling down, {left:.1f} s left"


def why_rpm(name: str, used: float, rpm: int) -> str:
    return f"{name}: {used:.0f} requests this minute >= rpm {rpm}"


def why_tpm(name: str, used: float, needed: int, limit: int) -> str:
    return (
        f"{name} token limit: {used:,.0f} of {limit:,} tokens used this minute, this call "
        f"needs ~{needed:,}"
    )


def why_deadline(name: str, typical: float, left: float) -> str:
    return f"{name}: typical latency {typical:.3f} s > {left:.3f} s left"


def why_quality(name: str, quality: float, floor: float) -> str:
    return f"{name}: quality {quality} < floor {floor}"


def why_cap(name: str, cost: float, cap: float) -> str:
    return f"{name}: ~{usd(cost)} > per-call cap {usd(cap)}"


def why_budget(name: str, cost: float, remaining: float, scope: str | None) -> str:
    return f"{name}: ~{usd(cost)} > {usd(remaining)} left ({scope})"
