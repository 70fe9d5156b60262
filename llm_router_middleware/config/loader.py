"""Load and validate a router config from a dict or a TOML file. Errors name the key.

Each section is read by its own module: models.py (``[[models]]``), routing.py
(``[routing]``), tiers.py (``[tiers]``, ``[budgets]``), runtime.py (``[breaker]``,
``[state]``, ``[cache]``), deployments.py (deployments and traffic limits).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from .collect import collecting, raise_collected, report
from .deployments import read_traffic
from .models import read_models
from .reader import Table
from .routing import DEFAULT_COMPLEX_KEYWORDS, DEFAULT_SIMPLE_KEYWORDS, read_routing
from .runtime import read_breaker, read_cache, read_state
from .schema import RouterConfig
from .tiers import read_budgets, read_tiers

__all__ = ["DEFAULT_COMPLEX_KEYWORDS", "DEFAULT_SIMPLE_KEYWORDS", "load_config"]


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
    models = read_models(root, own_failures)
    routing = read_routing(root, models)
    models = {
        name: spec if name in own_failures else replace(spec, reply_failures=routing.reply_failures)
        for name, spec in models.items()
    }
    tiers = read_tiers(root, models, routing.default_tier)
    budgets = read_budgets(root, tiers)
    breaker = read_breaker(root)
    state = read_state(root)
    traffic = read_traffic(root)
    cache = read_cache(root)
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
