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
    TrafficSpec,
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
    "TrafficSpec",
    "load_config",
]
