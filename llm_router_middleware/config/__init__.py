from .collect import ConfigErrors
from .loader import load_config
from .schema import (
    BreakerSpec,
    BudgetSpec,
    ComplexitySpec,
    CostSpec,
    ExperimentSpec,
    ModelSpec,
    RouterConfig,
    RoutingSpec,
    StateSpec,
    TierSpec,
)

__all__ = [
    "BreakerSpec",
    "BudgetSpec",
    "ComplexitySpec",
    "ConfigErrors",
    "CostSpec",
    "ExperimentSpec",
    "ModelSpec",
    "RouterConfig",
    "RoutingSpec",
    "StateSpec",
    "TierSpec",
    "load_config",
]
