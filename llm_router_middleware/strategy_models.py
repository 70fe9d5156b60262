"""The models behind the semantic and learned strategies, loaded once by the Router, and the
semantic strategy's first step: the semantic router's decision on the prompt, as the
Preselection the planner reads (the model it picked, if any, and why)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ContextError
from .routing import Preselection

if TYPE_CHECKING:
    from .learned.settings import LearnedSettings
    from .semantic.settings import SemanticSettings
    from .state import StateStore

# the strategies whose first step runs a model on the prompt: Router.aprepare runs them in a
# thread, and a call plans inline only without them
THREADED_STRATEGIES = frozenset({"semantic", "learned"})


def load_semantic(settings: SemanticSettings | None) -> Any:
    """The SemanticRouter of ``[routing.semantic]``, its encoder loaded and examples embedded."""
    if settings is None:
        raise ContextError("strategy 'semantic' needs a [routing.semantic] section")
    from .semantic import SemanticRouter

    router = SemanticRouter(settings)
    router.warm()
    return router


def load_learned(settings: LearnedSettings | None, store: StateStore, prefix: str) -> Any:
    """The learned strategy's model, encoder and feedback store (``[routing.learned]``)."""
    from .learned.settings import LearnedSettings

    try:
        from .learned.runtime import LearnedRouting
    except ImportError as exc:
        raise ContextError(
            "strategy 'learned' needs the 'semantic' extra "
            f"(pip install 'llm-router-middleware[semantic]'): {exc}"
        ) from None
    return LearnedRouting(settings or LearnedSettings(), store, prefix=prefix)


def preselect(semantic: Any, text: str, tier: str) -> Preselection:
    """``semantic`` is the Router's loaded SemanticRouter; ``tier`` the request's tier name."""
    decision = semantic.decide(text)
    model = semantic.route_target(decision, tier) if decision.route else None
    attributes: dict[str, str | bool | int | float] = {
        "semantic.score": round(float(decision.score), 4),
        "semantic.threshold": float(decision.threshold),
        "semantic.margin": round(float(decision.margin), 4),
        "semantic.cached": bool(decision.cached),
        "semantic.truncated": bool(decision.truncated),
    }
    if decision.route is not None:
        attributes["semantic.route"] = decision.route
    if decision.runner_up is not None:
        attributes["semantic.runner_up"] = decision.runner_up
    return Preselection(model=model, reason=str(decision.reason), attributes=attributes)
