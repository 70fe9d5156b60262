"""LLM model routing inside your web app."""

from .asgi import LLMRouterMiddleware
from .client import RequestLLM
from .config import ModelSpec, RouterConfig, load_config
from .context import ContextResolver, RequestContext, get_llm
from .errors import (
    AllModelsFailedError,
    Attempt,
    BudgetExhaustedError,
    ClientDisconnectedError,
    ConfigError,
    ContextError,
    ContextRejected,
    DeadlineExceededError,
    EncoderError,
    InvalidRequestError,
    NoModelAvailableError,
    PromptTooLongError,
    ProviderRequestError,
    RedisUnavailableError,
    RouterError,
    StreamInterruptedError,
    UnsupportedFeatureError,
)
from .otlp import configure_telemetry
from .policy import Policy
from .resolvers import HeaderContextResolver
from .response import RoutingInfo
from .router import Router
from .routing.plan import Plan, Rejection
from .state import MemoryStore, StateStore
from .status import DeploymentStatus, HealthReport, ModelStatus, ScopeSpend, SpendReport

__version__ = "0.1.0"

__all__ = [
    "AllModelsFailedError",
    "Attempt",
    "BudgetExhaustedError",
    "ClientDisconnectedError",
    "ConfigError",
    "ContextError",
    "ContextRejected",
    "ContextResolver",
    "DeadlineExceededError",
    "DeploymentStatus",
    "EncoderError",
    "HeaderContextResolver",
    "HealthReport",
    "InvalidRequestError",
    "LLMRouterMiddleware",
    "MemoryStore",
    "ModelSpec",
    "ModelStatus",
    "NoModelAvailableError",
    "Plan",
    "Policy",
    "PromptTooLongError",
    "ProviderRequestError",
    "RedisUnavailableError",
    "Rejection",
    "RequestContext",
    "RequestLLM",
    "Router",
    "RouterConfig",
    "RouterError",
    "RoutingInfo",
    "ScopeSpend",
    "SpendReport",
    "StateStore",
    "StreamInterruptedError",
    "UnsupportedFeatureError",
    "__version__",
    "configure_telemetry",
    "get_llm",
    "load_config",
]
