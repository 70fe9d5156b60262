"""Load and validate a router config from a dict or a TOML file. Errors name the key."""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError, InvalidRequestError
from ..params import validate_params
from ..resilience.replies import REPLY_FAILURES
from ..routing.capabilities import FEATURES, lacking
from ..transport.base import TRANSPORTS, resolve
from .collect import collecting, raise_collected, report, require_env, suggest
from .deployments import read_traffic, with_traffic
from .reader import Table
from .schema import (
    COMPLEXITY_LEVELS,
    DEFAULT_REPLY_FAILURES,
    STRATEGIES,
    BreakerSpec,
    BudgetSpec,
    CacheSpec,
    ComplexitySpec,
    CostSpec,
    ExperimentSpec,
    LatencySpec,
    ModelSpec,
    RouterConfig,
    RoutingSpec,
    StateSpec,
    TierSpec,
)

DEFAULT_SIMPLE_KEYWORDS = ("hi", "hello", "thanks", "thank you", "what is", "define", "translate")
DEFAULT_COMPLEX_KEYWORDS = (
    "analyze",
    "analyse",
    "compare",
    "design",
    "architecture",
    "prove",
    "derive",
    "optimize",
    "refactor",
    "debug",
    "step by step",
    "trade-offs",
    "tradeoffs",
    "evaluate",
    "strategy",
)


def load_config(
    source: Mapping[str, Any] | str | os.PathLike[str], *, require_env: bool = True
) -> RouterConfig:
    """Build a ``RouterConfig`` from a dict or the path of a TOML file. Every error is reported
    at once (``ConfigErrors`` when there are several). ``require_env=False`` skips the check that
    each ``api_key_env`` variable is set (validating a config without its secrets)."""
    if isinstance(source, Mapping):
        data: Mapping[str, Any] = source
    else:
        path = Path(source)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("", f"config file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"config file {str(path)!r} is not valid TOML: {exc}") from None
    config: RouterConfig | None = None
    with collecting(require_env=require_env) as errors:
        try:
            config = _load(data)
        except ConfigError as error:  # a check that cannot go on past its error
            report(error)
        except Exception:
            if not errors:
                raise
            # an earlier error left something the later checks could not read: report those
    raise_collected(errors)
    assert config is not None
    return config


def _load(data: Mapping[str, Any]) -> RouterConfig:
    root = Table(data, "")
    own_failures: set[str] = set()  # models with their own reply_failures
    models = _models(root, own_failures)
    routing = _routing(root, models)
    models = {
        name: spec if name in own_failures else replace(spec, reply_failures=routing.reply_failures)
        for name, spec in models.items()
    }
    tiers = _tiers(root, models, routing.default_tier)
    budgets = _budgets(root, tiers)
    breaker = _breaker(root)
    state = _state(root)
    traffic = read_traffic(root)
    cache = _cache(root)
    root.done()
    if routing.learned is not None:
        routing.learned.check_tiers(tiers)
    return RouterConfig(
        models=MappingProxyType(models),
        routing=routing,
        tiers=MappingProxyType(tiers),
        budgets=budgets,
        breaker=breaker,
        state=state,
        traffic=traffic,
        cache=cache,
    )


def _known(models: Mapping[str, ModelSpec], name: str, key: str) -> str:
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


def _models(root: Table, own_failures: set[str]) -> dict[str, ModelSpec]:
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
        failures = _reply_failures(t)
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


def _reply_failures(t: Table) -> frozenset[str] | None:
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


def _routing(root: Table, models: Mapping[str, ModelSpec]) -> RoutingSpec:
    t = root.table("routing") or Table({}, "routing")
    strategy = t.choice("strategy", STRATEGIES, "fixed")
    fallbacks = t.str_list("fallbacks", tuple(models))
    for i, name in enumerate(fallbacks):
        _known(models, name, f"{t.path('fallbacks')}[{i}]")
    fallbacks = tuple(m for m in fallbacks if m in models) or tuple(models)  # past errors: go on
    if len(set(fallbacks)) != len(fallbacks):
        report(ConfigError(t.path("fallbacks"), "lists a model twice"))
    default_tier = t.string("default_tier", "default")
    max_attempts = t.integer("max_attempts", len(models), minimum=1)
    complexity = _complexity(t, models, fallbacks)
    cost = _cost(t)
    experiment = _experiment(t, models)
    semantic = _semantic(t, models)
    latency = _latency(t)
    learned = _learned(t)
    failures = _reply_failures(t)
    if strategy == "experiment" and experiment is None:
        report(
            ConfigError(t.path("experiment"), "is required when routing.strategy = 'experiment'")
        )
    if strategy == "semantic" and semantic is None:
        report(ConfigError(t.path("semantic"), "is required when routing.strategy = 'semantic'"))
    t.done()
    return RoutingSpec(
        strategy=strategy,
        fallbacks=fallbacks,
        default_tier=default_tier,
        max_attempts=max_attempts,
        complexity=complexity,
        cost=cost,
        experiment=experiment,
        semantic=semantic,
        latency=latency,
        learned=learned,
        reply_failures=failures if failures is not None else DEFAULT_REPLY_FAILURES,
    )


def _latency(parent: Table) -> LatencySpec:
    t = parent.table("latency") or Table({}, parent.path("latency"))
    spec = LatencySpec(
        alpha=t.number("alpha", 0.2, positive=True, maximum=1),
        window=t.integer("window", 64, minimum=1),
        min_samples=t.integer("min_samples", 20, minimum=1),
        hedge_after_s=t.number("hedge_after_s", 2.0, positive=True),
    )
    if spec.min_samples > spec.window:
        report(
            ConfigError(
                t.path("min_samples"),
                f"is {spec.min_samples} but the p95 window holds only {spec.window} calls "
                "(routing.latency.window): the p95 would never be trusted",
            )
        )
    t.done()
    return spec


def _complexity(
    parent: Table, models: Mapping[str, ModelSpec], order: tuple[str, ...]
) -> ComplexitySpec:
    t = parent.table("complexity") or Table({}, parent.path("complexity"))
    by_quality = sorted(order, key=lambda n: models[n].quality)
    defaults = {
        "simple": by_quality[0],
        "medium": by_quality[len(by_quality) // 2],
        "complex": by_quality[-1],
    }
    levels_t = t.table("levels")
    levels = dict(defaults)
    if levels_t is not None:
        for level, name in levels_t.items():
            key = levels_t.path(level)
            if level not in COMPLEXITY_LEVELS:
                report(ConfigError(key, f"unknown level; use {', '.join(COMPLEXITY_LEVELS)}"))
            elif not isinstance(name, str):
                report(ConfigError(key, f"must be a model name, got {name!r}"))
            else:
                levels[level] = _known(models, name, key)
    medium = t.integer("medium_chars", 200, minimum=1)
    complex_chars = t.integer("complex_chars", 1500, minimum=1)
    if complex_chars <= medium:
        report(ConfigError(t.path("complex_chars"), "must be greater than medium_chars"))
    spec = ComplexitySpec(
        simple_keywords=tuple(
            k.lower() for k in t.str_list("simple_keywords", DEFAULT_SIMPLE_KEYWORDS)
        ),
        complex_keywords=tuple(
            k.lower() for k in t.str_list("complex_keywords", DEFAULT_COMPLEX_KEYWORDS)
        ),
        medium_chars=medium,
        complex_chars=complex_chars,
        complex_keyword_hits=t.integer("complex_keyword_hits", 2, minimum=1),
        levels=MappingProxyType(levels),
    )
    t.done()
    return spec


def _cost(parent: Table) -> CostSpec:
    t = parent.table("cost") or Table({}, parent.path("cost"))
    spec = CostSpec(
        quality_floor=t.number("quality_floor", 0.0, minimum=0, maximum=1),
        expected_output_tokens=t.integer("expected_output_tokens", 256, minimum=1),
    )
    t.done()
    return spec


def _experiment(parent: Table, models: Mapping[str, ModelSpec]) -> ExperimentSpec | None:
    t = parent.table("experiment")
    if t is None:
        return None
    control = _known(models, t.string("control"), t.path("control"))
    treatment = _known(models, t.string("treatment"), t.path("treatment"))
    if control == treatment:
        report(ConfigError(t.path("treatment"), "must differ from control"))
    spec = ExperimentSpec(
        name=t.string("name"),
        control=control,
        treatment=treatment,
        treatment_share=t.number("treatment_share", 0.5, minimum=0, maximum=1),
        enabled=t.boolean("enabled", True),
    )
    t.done()
    return spec


def _semantic(parent: Table, models: Mapping[str, ModelSpec]) -> Any | None:
    if not parent.has("semantic"):
        parent.raw("semantic", None)
        return None
    try:
        from ..semantic import SemanticSettings
    except ImportError as exc:
        raise ConfigError(
            parent.path("semantic"), f"semantic routing needs the 'semantic' extra: {exc}"
        ) from None
    settings = SemanticSettings.from_dict(parent.raw("semantic"), parent.path("semantic"))
    if settings.fallthrough is not None and settings.fallthrough not in STRATEGIES[:4]:
        raise ConfigError(
            f"{parent.path('semantic')}.fallthrough",
            f"must be one of {', '.join(STRATEGIES[:4])}; got {settings.fallthrough!r}",
        )
    if settings.fallthrough == "experiment" and not parent.has("experiment"):
        raise ConfigError(
            f"{parent.path('semantic')}.fallthrough",
            "'experiment' needs a [routing.experiment] section",
        )
    for i, route in enumerate(settings.routes):
        targets = [route.model] if route.model else list((route.tiers or {}).values())
        for name in targets:
            _known(models, name, f"{parent.path('semantic')}.routes[{i}]")
    return settings


def _learned(parent: Table) -> Any | None:
    t = parent.table("learned")
    if t is None:
        return None
    from ..learned.settings import LearnedSettings

    settings = LearnedSettings.parse(t)
    if settings.model is not None:  # a stale or foreign file fails here, naming the key
        from ..learned.model import DifficultyModel

        DifficultyModel.load(settings.model, key=t.path("model"))
    return settings


def _tiers(root: Table, models: Mapping[str, ModelSpec], default_tier: str) -> dict[str, TierSpec]:
    t = root.table("tiers")
    tiers: dict[str, TierSpec] = {}
    if t is not None:
        for name, _ in t.items():
            tt = Table(t.raw(name), t.path(name))
            allowed = tt.str_list("models", ())
            for i, m in enumerate(allowed):
                _known(models, m, f"{tt.path('models')}[{i}]")
            strategy = (
                tt.choice("strategy", (*STRATEGIES, None), None) if tt.has("strategy") else None
            )
            tiers[name] = TierSpec(
                name=name,
                models=allowed,
                strategy=strategy,
                quality_floor=tt.number("quality_floor", None, minimum=0, maximum=1),
                max_latency_s=tt.number("max_latency_s", None, positive=True),
                hedge=tt.boolean("hedge", False),
                hedge_after_s=tt.number("hedge_after_s", None, positive=True),
                cache=tt.boolean("cache", False),
            )
            tt.done()
    if default_tier not in tiers:
        tiers[default_tier] = TierSpec(
            name=default_tier, models=(), strategy=None, quality_floor=None
        )
    return tiers


def _budgets(root: Table, tiers: Mapping[str, TierSpec]) -> BudgetSpec:
    t = root.table("budgets") or Table({}, "budgets")
    per_tier: dict[str, float] = {}
    pt = t.table("per_tier_usd")
    if pt is not None:
        for tier, _ in pt.items():
            if tier not in tiers:
                report(
                    ConfigError(
                        pt.path(tier),
                        f"names tier {tier!r}, which is not defined in [tiers]"
                        + suggest(tier, tiers),
                    )
                )
            per_tier[tier] = pt.number(tier, minimum=0)
    tz = t.string("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        report(ConfigError(t.path("timezone"), f"unknown time zone {tz!r}"))
    spec = BudgetSpec(
        per_user_usd=t.number("per_user_usd", None, minimum=0),
        per_tier_usd=MappingProxyType(per_tier),
        global_usd=t.number("global_usd", None, minimum=0),
        timezone=tz,
        on_exhausted=t.choice("on_exhausted", ("downgrade", "refuse"), "downgrade"),
        refuse_status=int(t.choice("refuse_status", (402, 429), 402)),
    )
    t.done()
    return spec


def _breaker(root: Table) -> BreakerSpec:
    t = root.table("breaker") or Table({}, "breaker")
    spec = BreakerSpec(
        consecutive_failures=t.integer("consecutive_failures", 5, minimum=1),
        failure_rate=t.number("failure_rate", 0.5, minimum=0, maximum=1),
        window_s=t.number("window_s", 60.0, positive=True),
        min_requests=t.integer("min_requests", 10, minimum=1),
        cooldown_s=t.number("cooldown_s", 30.0, positive=True),
        half_open_probes=t.integer("half_open_probes", 1, minimum=1),
    )
    t.done()
    return spec


def _state(root: Table) -> StateSpec:
    t = root.table("state") or Table({}, "state")
    backend = t.choice("backend", ("memory", "redis"), "memory")
    url = t.string("redis_url", None)
    if backend == "redis" and url is None:
        report(ConfigError(t.path("redis_url"), "is required when state.backend = 'redis'"))
    spec = StateSpec(
        backend=backend,
        redis_url=url,
        key_prefix=t.string("key_prefix", "llmr"),
        on_unavailable=t.choice("on_unavailable", ("local", "refuse"), "local"),
    )
    t.done()
    return spec


def _cache(root: Table) -> CacheSpec:
    t = root.table("cache") or Table({}, "cache")
    spec = CacheSpec(
        backend=t.choice("backend", ("memory", "state"), "memory"),
        ttl_s=t.number("ttl_s", 300.0, positive=True),
        max_entries=t.integer("max_entries", 1024, minimum=1),
        semantic_threshold=t.number("semantic_threshold", None, minimum=0, maximum=1),
    )
    t.done()
    return spec
