"""The ``[[models]]`` entries: each model's string, price, window, params and transport."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError, InvalidRequestError
from ..params import validate_params
from ..resilience.replies import REPLY_FAILURES
from ..routing.capabilities import FEATURES, lacking
from ..transport.base import TRANSPORTS, resolve
from .collect import report, require_env, suggest
from .deployments import with_traffic
from .reader import Table
from .schema import DEFAULT_REPLY_FAILURES, ModelSpec


def known_model(models: Mapping[str, ModelSpec], name: str, key: str) -> str:
    if name not in models:
        report(
            ConfigError(
                key,
                f"names model {name!r}, which is not defined in [[models]] "
                f"(defined: {', '.join(models) or 'none'}){suggest(name, models)}",
            )
        )
    return name


def _litellm_info(model: str) -> Mapping[str, Any] | None:
    import litellm

    litellm.suppress_debug_info = True  # else it prints a provider list for unknown models
    try:
        info: Mapping[str, Any] = litellm.get_model_info(model)
    except Exception:
        return None
    return info


def read_models(root: Table, own_failures: set[str]) -> dict[str, ModelSpec]:
    tables = root.tables("models")
    if not tables:
        raise ConfigError("models", "at least one [[models]] entry is required")
    models: dict[str, ModelSpec] = {}
    for t in tables:
        name = t.string("name")
        if name in models:
            report(ConfigError(t.path("name"), f"duplicate model name {name!r}"))
        model = t.string("model")
        provider = model.split("/", 1)[0] if "/" in model else "openai"
        api_base = t.string("api_base", None)
        api_key = t.string("api_key", None)
        api_key_env = t.string("api_key_env", None)
        if api_key is not None and api_key_env is not None:
            report(ConfigError(t.path("api_key"), "set api_key or api_key_env, not both"))
        if api_key_env is not None and require_env() and not os.environ.get(api_key_env):
            report(
                ConfigError(
                    t.path("api_key_env"),
                    f"environment variable {api_key_env} is not set (model {name!r} needs its "
                    "API key; `check --no-env` validates without it)",
                )
            )
        in_cost = t.number("input_cost_per_1m", None, minimum=0)
        out_cost = t.number("output_cost_per_1m", None, minimum=0)
        window = t.integer("context_window", None, minimum=1)
        max_out = t.integer("max_output_tokens", None, minimum=1)
        info = None
        if in_cost is None or out_cost is None or window is None:
            info = _litellm_info(model)
            if info is None:
                missing = [
                    k
                    for k, v in (
                        ("input_cost_per_1m", in_cost),
                        ("output_cost_per_1m", out_cost),
                        ("context_window", window),
                    )
                    if v is None
                ]
                report(
                    ConfigError(
                        t.path(missing[0]),
                        f"model {model!r} is not in litellm's price map; "
                        f"set {', '.join(missing)} for model {name!r}",
                    )
                )
                info = {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}
        known: Mapping[str, Any] = info or {}
        in_tok = in_cost / 1e6 if in_cost is not None else float(known["input_cost_per_token"] or 0)
        out_tok = (
            out_cost / 1e6 if out_cost is not None else float(known["output_cost_per_token"] or 0)
        )
        if window is None:
            window = int(known.get("max_input_tokens") or known.get("max_tokens") or 8192)
        if max_out is None:
            max_out = int((info or {}).get("max_output_tokens") or 4096)
        params_t = t.table("params")
        params = dict(params_t.items()) if params_t else {}
        for reserved in ("model", "messages", "api_key", "api_base", "timeout", "stream"):
            if reserved in params:
                report(
                    ConfigError(
                        f"{t.path('params')}.{reserved}",
                        "is set by the router; use the model's own key instead",
                    )
                )
        try:
            validate_params(params)
        except InvalidRequestError as exc:
            report(ConfigError(f"{t.path('params')}.{exc.param}", exc.message))
        failures = read_reply_failures(t)
        if failures is not None:
            own_failures.add(name)
        supports = _features(t)
        lacks = lacking(supports, None) if supports is not None else None
        transport = resolve(t.choice("transport", TRANSPORTS, "auto"), model, api_base)
        if transport is None:
            report(
                ConfigError(
                    t.path("transport"),
                    f"'native' speaks the OpenAI chat-completions protocol: model {name!r} needs "
                    f"an 'openai/...' model string or an api_base (got {model!r}); or use "
                    "'litellm'",
                )
            )
            transport = "litellm"
        models[name] = ModelSpec(
            name=name,
            model=model,
            provider=provider,
            api_base=api_base,
            api_key=api_key,
            api_key_env=api_key_env,
            input_cost_per_token=in_tok,
            output_cost_per_token=out_tok,
            quality=t.number("quality", 0.5, minimum=0, maximum=1),
            context_window=window,
            max_output_tokens=max_out,
            timeout_s=t.number("timeout_s", 30.0, positive=True),
            rpm=t.integer("rpm", None, minimum=1),
            params=MappingProxyType(params),
            transport=transport,
            reply_failures=failures if failures is not None else DEFAULT_REPLY_FAILURES,
            lacks=lacks,
        )
        models[name] = with_traffic(t, models[name])
        t.done()
    return models


def read_reply_failures(t: Table) -> frozenset[str] | None:
    """``reply_failures``: which 200 replies count as failures (resilience/replies.py)."""
    names = t.str_list("reply_failures", None)
    if names is None:
        return None
    for i, name in enumerate(names):
        if name not in REPLY_FAILURES:
            report(
                ConfigError(
                    f"{t.path('reply_failures')}[{i}]",
                    f"unknown reply failure {name!r}; use {', '.join(REPLY_FAILURES)}"
                    + suggest(name, REPLY_FAILURES),
                )
            )
    return frozenset(names)


def _features(t: Table) -> tuple[str, ...] | None:
    """``supports``: the features a model supports (routing/capabilities.py)."""
    names: tuple[str, ...] | None = t.str_list("supports", None)
    for i, name in enumerate(names or ()):
        if name not in FEATURES:
            report(
                ConfigError(
                    f"{t.path('supports')}[{i}]",
                    f"unknown feature {name!r}; use {', '.join(FEATURES)}"
                    + suggest(name, FEATURES),
                )
            )
    return names
