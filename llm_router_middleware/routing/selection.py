"""Selection: one plan's strategy picks the first model from the eligible pool and says why."""

from __future__ import annotations

from ..config.schema import RouterConfig
from ..errors import InvalidRequestError
from .candidates import Candidates, cheapest_first, unavailable
from .complexity import Decision, decide
from .experiments import assign
from .inputs import PlanInput, StateView
from .learned import Judgement, judge, select_learned
from .plan import AttributeValue, Rejection
from .reasons import shown, usd
from .speed import fastest

UNJUDGED: Judgement = (0.0, "")  # the learned strategy has not judged the prompt yet


class Selector:
    """One plan's strategy: picks the first model from a pool and explains why. (make_plan
    builds it without ``__init__``: a new slot needs a store there too.)"""

    __slots__ = (
        "attrs",
        "complexity",
        "config",
        "est",
        "found",
        "inp",
        "judged",
        "rejected",
        "view",
    )

    def __init__(
        self,
        config: RouterConfig,
        inp: PlanInput,
        found: Candidates,
        est: dict[str, float],
        rejected: list[Rejection],
        attrs: dict[str, AttributeValue],
        view: StateView,
    ) -> None:
        self.view = view
        self.config = config
        self.inp = inp
        self.found = found
        self.est = est
        self.rejected = rejected
        self.attrs = attrs
        self.complexity: Decision | None = None
        self.judged: Judgement | None = UNJUDGED

    def select(self, strategy: str, pool: list[str]) -> tuple[str, str, list[str]]:
        """(selected, reason, order of the whole pool with the selected first). (make_plan
        selects for the latency and learned strategies itself; they come here as a semantic
        fallthrough; the strategies that come here first are tested first.)"""
        if strategy == "fixed":
            first = pool[0]
            lead = self.found.names[0]
            if first == lead:
                return first, f"fixed: first in order -> {first}", pool
            return (
                first,
                f"fixed: {unavailable(self.rejected, self.found, self.inp, lead)} -> {first}",
                pool,
            )
        if strategy == "cost":
            est, quality = self.est, self.found.quality
            ranked = cheapest_first(pool, est, self.found.weakness)
            first = ranked[0]
            floor = self.attrs.get("cost.quality_floor", 0.0)
            self.attrs["cost.estimate_usd"] = est[first]
            return (
                first,
                f"cost: cheapest meeting quality floor {shown(floor)} -> {first} "
                f"(~{usd(est[first])}, quality {shown(quality[first])})",
                ranked,
            )
        if strategy == "experiment":
            return self._experiment(pool)
        if strategy == "semantic":
            pre = self.inp.preselection
            if pre is not None:
                self.attrs.update(pre.attributes)
                if pre.model is not None and pre.model in pool:
                    return (
                        pre.model,
                        f"semantic: {pre.reason} -> {pre.model}",
                        _first(pool, pre.model, self.found.unique),
                    )
                if pre.model is not None:
                    why = unavailable(self.rejected, self.found, self.inp, pre.model)
                    lead = f"semantic: {pre.reason}, but {why}; "
                else:
                    lead = f"semantic: no match ({pre.reason}); "
            else:
                lead = "semantic: no preselection; "
            fallthrough = self.inp.fallthrough
            if fallthrough == "complexity" or fallthrough == "semantic":
                return self._complexity(pool, lead)
            first, reason, order = self.select(fallthrough, pool)
            return first, lead + reason, order
        if strategy == "complexity":
            return self._complexity(pool, "")
        if strategy == "latency":
            floor = self.attrs.get("latency.quality_floor", 0.0)
            figures, weakness = self.view.latency, self.found.weakness
            return fastest(pool, figures, weakness, float(floor))
        if strategy == "learned":
            judged = self.judged
            if judged is UNJUDGED:
                learned = self.inp.learned
                judged = None
                if learned is not None and learned.difficulty is not None:
                    judged = judge(learned, self.found.levels, self.attrs)
                self.judged = judged
            return select_learned(judged, pool, self.found, self.est, self.rejected, self.inp)
        raise InvalidRequestError(
            f"unknown routing strategy {strategy!r}; use fixed, complexity, cost, experiment, "
            "semantic, learned or latency"
        )

    def _complexity(self, pool: list[str], lead: str) -> tuple[str, str, list[str]]:
        spec = self.config.routing.complexity
        decided = self.complexity
        if decided is None:
            decided = self.complexity = decide(self.inp.text, spec)
            self.attrs["complexity.level"] = decided[0]
        level, reason, _, _ = decided
        return by_level(level, reason, pool, lead, self.rejected, self.found, self.inp)

    def _experiment(self, pool: list[str]) -> tuple[str, str, list[str]]:
        spec = self.config.routing.experiment
        if spec is None:
            return pool[0], f"experiment: none configured, fixed order -> {pool[0]}", pool
        a = assign(spec, self.inp.context)
        self.attrs["experiment.arm"] = a.arm
        self.attrs["experiment.enrolled"] = a.enrolled
        if a.bucket is not None:
            self.attrs["experiment.bucket"] = a.bucket
        if a.model in pool:
            self.attrs["experiment.arm_available"] = True
            return a.model, f"{a.reason} -> {a.model}", _first(pool, a.model, self.found.unique)
        self.attrs["experiment.arm_available"] = False
        return (
            pool[0],
            f"{a.reason}; arm {unavailable(self.rejected, self.found, self.inp, a.model)} "
            f"-> {pool[0]}",
            pool,
        )


def by_level(
    level: str,
    reason: str,
    pool: list[str],
    lead: str,
    rejected: list[Rejection],
    found: Candidates,
    inp: PlanInput,
) -> tuple[str, str, list[str]]:
    """The complexity strategy's pick for a prompt classified ``level`` for ``reason``: the model
    of its level, else of the nearest level in the pool, else the pool's first. ``lead``: the
    reason's start."""
    wanted, ladder = found.ladders[level]  # the config's levels, read once (candidates.py)
    for near, model in ladder:
        if model in pool:
            if model == wanted:
                return model, f"{lead}{reason} -> {model}", _first(pool, model, found.unique)
            return (
                model,
                f"{lead}{reason}; {unavailable(rejected, found, inp, wanted)} "
                f"-> {near} model {model}",
                _first(pool, model, found.unique),
            )
    return (
        pool[0],
        f"{lead}{reason}; no level model available -> {pool[0]}",
        pool,
    )


def _first(pool: list[str], model: str, unique: bool = False) -> list[str]:
    """``pool`` with ``model`` (one of its models) moved to the front, any other copy of it
    dropped (a tier may list a model twice; ``unique``: the candidates list none twice, so no
    copy is looked for)."""
    if pool[0] == model:
        return pool
    order = pool.copy()
    order.remove(model)
    if not unique and model in order:
        return [model, *(m for m in pool if m != model)]
    order.insert(0, model)
    return order
