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
    ProviderRequestError,
    RedisUnavailableError,
    RouterError,
    StreamInterruptedError,
)
from .policy import Policy
from .resolvers import HeaderContextResolver
from .response import RoutingInfo
from .router import Router
from .routing.plan import Plan, Rejection
from .state import MemoryStore, StateStore

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
    "EncoderError",
    "HeaderContextResolver",
    "InvalidRequestError",
    "LLMRouterMiddleware",
    "MemoryStore",
    "ModelSpec",
    "NoModelAvailableError",
    "Plan",
    "Policy",
    "ProviderRequestError",
    "RedisUnavailableError",
    "Rejection",
    "RequestContext",
    "RequestLLM",
    "Router",
    "RouterConfig",
    "RouterError",
    "RoutingInfo",
    "StateStore",
    "StreamInterruptedError",
    "__version__",
    "get_llm",
    "load_config",
]
