"""Refusals: the errors planning raises when no model may be tried, each naming why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ..config.schema import RouterConfig, TierSpec
from ..errors import NoModelAvailableError, PromptTooLongError
from .plan import Rejection


def too_long(
    config: RouterConfig, cands: tuple[str, ...], rejected: list[Rejection], pt: int, out: int
) -> None:
    """Raise PromptTooLongError when no model the request may use has a window that fits:
    waiting cannot help, a shorter prompt (or a smaller max_tokens) can."""
    allowed = [r for r in rejected if r.code != "policy"]
    if not allowed or any(r.code != "context_window" for r in allowed):
        return
    windows = {r.model: config.models[r.model].context_window for r in allowed}
    largest = max(windows, key=windows.__getitem__)
    fits_alone = pt < windows[largest]
    hint = (
        f"; without the {out} output tokens it reserves it would fit: lower max_tokens"
        if fits_alone
        else "; shorten the prompt"
    )
    raise PromptTooLongError(
        f"the prompt has {pt} tokens and the largest context window among the models this "
        f"request may use is {windows[largest]} tokens ({largest}){hint}",
        prompt_tokens=pt,
        largest_window=windows[largest],
    )


def narrowed(tier: TierSpec, cands: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    narrowed = tuple(m for m in allowed if m in cands)
    if not narrowed:
        raise NoModelAvailableError(
            f"no model available for tier {tier.name!r}: this view allows "
            f"{', '.join(allowed)}, and the tier allows only {', '.join(cands)}",
            rejected=[(m, f"{m}: not allowed for tier {tier.name!r}") for m in allowed],
        )
    return narrowed


def no_model(
    tier: TierSpec,
    cands: tuple[str, ...],
    rejected: list[Rejection],
    cooldowns: Mapping[str, float],
    waits_s: Mapping[str, float],
) -> NoReturn:
    sources: dict[str, Mapping[str, float]] = {"cooldown": cooldowns, "breaker_open": waits_s}
    waits = [w for r in rejected if (w := sources.get(r.code, {}).get(r.model, 0.0)) > 0]
    detail = "; ".join(r.reason for r in rejected) or "the tier lists no models"
    raise NoModelAvailableError(
        f"no model available for tier {tier.name!r} ({len(cands)} candidates): {detail}",
        rejected=[(r.model, r.reason) for r in rejected],
        retry_after_s=min(waits) if waits else None,
    )
