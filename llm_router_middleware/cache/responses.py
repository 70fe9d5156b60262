"""The response cache: serve a repeated request's reply without calling a model.

Opt-in per tier (``[tiers.x] cache = true``) or per view (``llm_policy(cache=True)``). After
planning, a call looks its key up (exact first, then, when configured, the semantic index); a
hit is returned at once with ``reply.routing.cache`` = ``"exact"`` or ``"semantic"``, a cost of
0, no budget charge and no provider request. A miss calls models as usual and stores the reply.

Replies never cross users: the user id is part of the key unless the view declares its replies
shareable (``cache_shared=True``); a request without a user id is not cached then. Streams
bypass the cache (neither read nor written).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span

from .. import telemetry
from ..config.schema import ModelSpec, RouterConfig
from ..errors import ConfigError
from ..ids import request_id
from ..policy import Policy
from ..response import RoutingInfo
from ..state.base import StateStore
from ..state.memory import MemoryStore
from ..transport.reply import Reply
from .entries import Entries, Entry, MemoryEntries, StoreEntries
from .key import CacheKey, cache_key
from .semantic import SemanticIndex

if TYPE_CHECKING:
    from ..prepared import Prepared

logger = logging.getLogger("llm_router_middleware")


@dataclass(slots=True)
class Probe:
    """One call's look into the cache: its key, the embedding (semantic), the reply on a hit."""

    key: CacheKey
    vector: Any = None
    reply: Any = None

    def missed(self, span: Span) -> None:
        if span.is_recording():
            span.set_attribute(telemetry.CACHE, "miss")


class ResponseCache:
    def __init__(self, config: RouterConfig, store: StateStore, prefix: str) -> None:
        spec = config.cache
        self.config = config
        self.tiers = frozenset(name for name, tier in config.tiers.items() if tier.cache)
        shared = spec.backend == "state" and not isinstance(store, MemoryStore)
        self.entries: Entries = (
            StoreEntries(store, prefix, spec.ttl_s)
            if shared
            else MemoryEntries(spec.max_entries, spec.ttl_s)
        )
        self.semantic: SemanticIndex | None = None
        if spec.semantic_threshold is not None:
            self.semantic = SemanticIndex(_encoder(), spec.semantic_threshold, spec.max_entries)

    # --- looking up ---------------------------------------------------------------------------
    def key(self, prepared: Prepared, params: Mapping[str, Any], policy: Policy | None) -> Any:
        """The call's CacheKey, or None when the cache is off for it (the common case: cheap)."""
        wanted = policy.cache if policy is not None and policy.cache is not None else None
        if wanted is None:
            wanted = prepared.plan.tier in self.tiers
        if not wanted:
            return None
        shared = policy is not None and bool(policy.cache_shared)
        user = None if shared else prepared.context.user_id
        if user is None and not shared:
            return None  # an anonymous caller cannot be kept apart from other users
        return cache_key(prepared.messages, params, prepared.plan.tier, policy, user)

    def probe(
        self, prepared: Prepared, params: Mapping[str, Any], policy: Policy | None
    ) -> Probe | None:
        key = self.key(prepared, params, policy)
        if key is None:
            return None
        probe = Probe(key)
        entry = self.entries.get(key.exact)
        if entry is not None:
            probe.reply = self._serve(prepared, entry, "exact", None)
        elif self.semantic is not None and key.text:
            probe.vector = self.semantic.embed(key.text)
            match = self.semantic.nearest(key.scope, probe.vector)
            if match is not None and (entry := self.entries.get(match.key)) is not None:
                probe.reply = self._serve(prepared, entry, "semantic", match.similarity)
        return probe

    async def aprobe(
        self, prepared: Prepared, params: Mapping[str, Any], policy: Policy | None
    ) -> Probe | None:
        key = self.key(prepared, params, policy)
        if key is None:
            return None
        probe = Probe(key)
        entry = await self.entries.aget(key.exact)
        if entry is not None:
            probe.reply = self._serve(prepared, entry, "exact", None)
        elif self.semantic is not None and key.text:
            probe.vector = await asyncio.to_thread(self.semantic.embed, key.text)
            match = self.semantic.nearest(key.scope, probe.vector)
            if match is not None and (entry := await self.entries.aget(match.key)) is not None:
                probe.reply = self._serve(prepared, entry, "semantic", match.similarity)
        return probe

    # --- storing ------------------------------------------------------------------------------
    def remember(self, probe: Probe, reply: Any) -> None:
        entry = _entry(reply)
        if entry is not None:
            self.entries.put(probe.key.exact, entry)
            self._index(probe)

    async def aremember(self, probe: Probe, reply: Any) -> None:
        entry = _entry(reply)
        if entry is not None:
            await self.entries.aput(probe.key.exact, entry)
            self._index(probe)

    def _index(self, probe: Probe) -> None:
        if self.semantic is not None and probe.vector is not None:
            self.semantic.add(probe.key.scope, probe.vector, probe.key.exact)

    # --- serving a hit ------------------------------------------------------------------------
    def _serve(
        self, prepared: Prepared, entry: Entry, kind: str, similarity: float | None
    ) -> Any | None:
        spec = self.config.models.get(entry.model)
        if spec is None:  # the model that answered is no longer configured: a miss
            return None
        plan, context = prepared.plan, prepared.context
        rid = request_id()
        age = max(0.0, time.time() - entry.stored_at)
        how = "exact match" if similarity is None else f"similarity {similarity:.3f}"
        info = RoutingInfo(
            model=spec.name,
            litellm_model=spec.model,
            strategy=plan.strategy,
            reason=f"cache: {kind} hit ({how}, answered by {spec.name} {age:.0f} s ago)",
            fallback_count=0,
            attempts=(),
            cost_usd=0.0,
            estimated_cost_usd=0.0,
            request_id=rid,
            tier=plan.tier,
            experiment=None,
            arm=None,
            downgraded=False,
            plan=plan,
            cache=kind,
        )
        span = telemetry.start_route_span(plan.strategy)
        if span.is_recording():
            telemetry.record_plan(
                span, plan, user_id=context.user_id, endpoint=context.endpoint, request_id=rid
            )
            span.set_attributes(
                {
                    telemetry.CACHE: kind,
                    telemetry.MODEL_USED: spec.name,
                    telemetry.FALLBACK_COUNT: 0,
                    telemetry.COST_USD: 0.0,
                }
            )
            if similarity is not None:
                span.set_attribute(telemetry.CACHE_SIMILARITY, round(similarity, 4))
        span.end()
        if telemetry.logger.isEnabledFor(logging.INFO):
            telemetry.log_plan_outcome(
                plan, context, rid, "success", spec.name, 0, 0.0, logging.INFO, cache=kind
            )
        return _rebuilt(spec, entry.reply, info)


def _entry(reply: Any) -> Entry | None:
    info = getattr(reply, "routing", None)
    dump = getattr(reply, "model_dump", None)
    if not isinstance(info, RoutingInfo) or dump is None:
        return None
    data = dump()
    return Entry(info.model, time.time(), data) if isinstance(data, dict) else None


def _rebuilt(spec: ModelSpec, data: dict[str, Any], info: RoutingInfo) -> Any:
    """A reply of the type the model's transport returns, carrying ``info``."""
    if spec.transport == "native":
        reply = Reply(copy.deepcopy(data))
        reply.routing = info
        return reply
    from ..transport import litellm_module

    response = litellm_module().ModelResponse(**copy.deepcopy(data))
    response.__dict__["routing"] = info  # as Execution.succeeded does: not a field
    return response


def _encoder() -> Any:
    try:
        from ..semantic.encoders import EncoderError, LocalMiniLMEncoder
    except ImportError as exc:
        raise ConfigError(
            "cache.semantic_threshold", f"the semantic cache needs the 'semantic' extra: {exc}"
        ) from None
    try:
        return LocalMiniLMEncoder()
    except EncoderError as exc:
        raise ConfigError(
            "cache.semantic_threshold", f"the semantic cache's local encoder: {exc}"
        ) from None
