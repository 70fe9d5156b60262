"""``[[models.deployments]]``: several deployments of one configured model, and the model's
traffic keys (``tpm``, ``retries``, ``balance``).

A deployment is the same model served elsewhere (another account, region or provider). Each is
a full ``ModelSpec`` derived from its model (``dataclasses.replace``), so the transports, the
cost estimate and the spans treat it like any model; its ``deployment`` names it and its
``target`` (``model#deployment``) keys its own breaker, cooldown and limits.
"""

from __future__ import annotations

import os
from dataclasses import replace

from ..errors import ConfigError
from ..transport.base import TRANSPORTS, resolve
from .collect import report, require_env
from .reader import Table
from .schema import BALANCES, ModelSpec, TrafficSpec


def with_traffic(t: Table, spec: ModelSpec) -> ModelSpec:
    """The model's traffic keys and its deployments, read from its ``[[models]]`` table."""
    spec = replace(
        spec,
        tpm=t.integer("tpm", None, minimum=1),
        retries=t.integer("retries", 0, minimum=0),
        balance=t.choice("balance", BALANCES, "weighted"),
    )
    tables = t.tables("deployments")
    if not tables:
        return spec
    deployments: list[ModelSpec] = []
    for d in tables:
        name = d.string("name")
        if any(other.deployment == name for other in deployments):
            report(ConfigError(d.path("name"), f"duplicate deployment name {name!r}"))
        if "#" in name:
            report(ConfigError(d.path("name"), f"must not contain '#', got {name!r}"))
        deployments.append(_deployment(d, spec, name))
        d.done()
    return replace(spec, deployments=tuple(deployments))


def _deployment(d: Table, base: ModelSpec, name: str) -> ModelSpec:
    model = d.string("model", base.model)
    api_base = d.string("api_base", None)
    api_key = d.string("api_key", None)
    api_key_env = d.string("api_key_env", None)
    if api_key is not None and api_key_env is not None:
        report(ConfigError(d.path("api_key"), "set api_key or api_key_env, not both"))
    if api_key_env is not None and require_env() and not os.environ.get(api_key_env):
        report(
            ConfigError(
                d.path("api_key_env"),
                f"environment variable {api_key_env} is not set (deployment {name!r} of model "
                f"{base.name!r} needs its API key; `check --no-env` validates without it)",
            )
        )
    if api_key is None and api_key_env is None:  # the model's own key, unless it has its own
        api_key, api_key_env = base.api_key, base.api_key_env
    api_base = api_base if api_base is not None else base.api_base
    transport = resolve(base.transport, model, api_base) or "litellm"  # as its model's
    if d.has("transport"):
        chosen = resolve(d.choice("transport", TRANSPORTS), model, api_base)
        if chosen is None:
            report(
                ConfigError(
                    d.path("transport"),
                    f"'native' speaks the OpenAI chat-completions protocol: deployment {name!r} "
                    f"needs an 'openai/...' model string or an api_base (got {model!r})",
                )
            )
        transport = chosen or "litellm"
    return replace(
        base,
        model=model,
        provider=model.split("/", 1)[0] if "/" in model else "openai",
        api_base=api_base,
        api_key=api_key,
        api_key_env=api_key_env,
        transport=transport,
        timeout_s=d.number("timeout_s", base.timeout_s, positive=True),
        rpm=d.integer("rpm", None, minimum=1),
        tpm=d.integer("tpm", None, minimum=1),
        weight=d.number("weight", 1.0, positive=True),
        deployment=name,
        deployments=(),
    )


def read_traffic(root: Table) -> TrafficSpec:
    """``[traffic]``: how long a retry or a wait for a recovering candidate may take."""
    t = root.table("traffic") or Table({}, "traffic")
    spec = TrafficSpec(
        retry_backoff_s=t.number("retry_backoff_s", 0.25, minimum=0),
        retry_max_wait_s=t.number("retry_max_wait_s", 5.0, minimum=0),
        wait_for_recovery_s=t.number("wait_for_recovery_s", 0.0, minimum=0),
        seed=t.integer("seed", None),
    )
    t.done()
    return spec
