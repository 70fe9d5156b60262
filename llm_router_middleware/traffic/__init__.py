"""Traffic management inside one call: deployments of a model, token limits, retries."""

from .deployments import DeploymentBoard, order_deployments
from .retry import retry_wait
from .tokens import TokenLimiter, TokenReservation

__all__ = [
    "DeploymentBoard",
    "TokenLimiter",
    "TokenReservation",
    "order_deployments",
    "retry_wait",
]
