"""The ``[routing]`` section: strategy, fallbacks and each strategy's settings."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from .collect import report
from .models import known_model, read_reply_failures
from .reader import Table
from .schema import (
    COMPLEXITY_LEVELS,
    DEFAULT_REPLY_FAILURES,
    STRATEGIES,
    ComplexitySpec,
    CostSpec,
    ExperimentSpec,
    LatencySpec,
    ModelSpec,
    RoutingSpec,
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


def read_routing(root: Table, models: Mapping[str, ModelSpec]) -> RoutingSpec:
    t = root.table("routing") or Table({}, "routing")
    strategy = t.choice("strategy", STRATEGIES, "fixed")
    fallbacks = t.str_list("fallbacks", tuple(models))
    for i, name in enumerate(fallbacks):
        known_model(models, name, f"{t.path('fallbacks')}[{i}]")
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
    failures = read_reply_failures(t)
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
                levels[level] = known_model(models, name, key)
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
    control = known_model(models, t.string("control"), t.path("control"))
    treatment = known_model(models, t.string("treatment"), t.path("treatment"))
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
            known_model(models, name, f"{parent.path('semantic')}.routes[{i}]")
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
