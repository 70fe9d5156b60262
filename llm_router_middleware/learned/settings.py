"""The `[routing.learned]` configuration (parsed without importing numpy or the encoder).

```toml
[routing.learned]
strong_share = 0.3          # target share of calls to the strongest candidate ... (one knob)
# threshold = 0.62          # ... or a difficulty threshold, e.g. from `python -m
                            #     llm_router_middleware calibrate` on a sample of your prompts
# model = "difficulty.npz"  # a model from `train`; default: the one shipped in the package
# pair = ["mistral-7b-instruct-v0.3", "llama-3.1-nemotron-51b-instruct"]  # optional: your weak
                            # and strong models are among the heads of the model file
                            # (docs/learned.md): route on that pair's predicted gain
# feedback = true           # keep outcomes (record_score, fallbacks) for `train --from-store`
# feedback_limit = 20000    # outcomes kept (oldest dropped first)
# store_prompts = false     # keep the prompt text with an outcome (off: the embedding only)
# query_cache_size = 4096   # scored prompts memoised in memory (0 disables)
# query_cache_ttl = 3600    # seconds

[routing.learned.tiers.free]  # a tier's own knob (strong_share or threshold)
strong_share = 0.1
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..config.reader import Table
from ..errors import ConfigError

DEFAULT_STRONG_SHARE = 0.3
KEY = "routing.learned"


@dataclass(frozen=True, slots=True)
class Knob:
    """The one trade-off setting: a target strong share, or an explicit difficulty threshold.

    The shipped model's difficulty is the percentile among its training prompts, so a share s
    means threshold 1 - s on traffic like the training data; `calibrate` measures it on yours.
    """

    threshold: float
    strong_share: float | None = None

    @property
    def label(self) -> str:
        if self.strong_share is not None:
            return f"strong_share {self.strong_share:g}"
        return f"threshold {self.threshold:g}"

    @classmethod
    def parse(cls, t: Table, default: Knob | None) -> Knob:
        if t.has("strong_share") and t.has("threshold"):
            raise ConfigError(t.path("threshold"), "set strong_share or threshold, not both")
        if t.has("threshold"):
            return cls(threshold=t.number("threshold", minimum=0, maximum=1))
        if t.has("strong_share") or default is None:
            share = t.number("strong_share", DEFAULT_STRONG_SHARE, minimum=0, maximum=1)
            return cls(threshold=1.0 - share, strong_share=share)
        return default


def _no_tiers() -> Mapping[str, Knob]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LearnedSettings:
    knob: Knob = field(
        default_factory=lambda: Knob(1.0 - DEFAULT_STRONG_SHARE, DEFAULT_STRONG_SHARE)
    )
    tiers: Mapping[str, Knob] = field(default_factory=_no_tiers)
    model: Path | None = None  # None: the model shipped in the package
    pair: tuple[str, str] | None = None  # (weak, strong) heads of the model file
    feedback: bool = True
    feedback_limit: int = 20_000
    store_prompts: bool = False
    query_cache_size: int = 4096
    query_cache_ttl: float = 3600.0

    def knob_for(self, tier: str) -> Knob:
        return self.tiers.get(tier, self.knob)

    @classmethod
    def parse(cls, t: Table) -> LearnedSettings:
        knob = Knob.parse(t, None)
        tiers: dict[str, Knob] = {}
        tiers_t = t.table("tiers")
        if tiers_t is not None:
            for name, _ in tiers_t.items():
                tier_t = Table(tiers_t.raw(name), tiers_t.path(name))
                tiers[name] = Knob.parse(tier_t, knob)
                tier_t.done()
        model = t.string("model", None)
        pair = t.str_list("pair", None)
        if pair is not None and (len(pair) != 2 or pair[0] == pair[1]):
            raise ConfigError(t.path("pair"), "must name two different models: [weak, strong]")
        settings = cls(
            knob=knob,
            tiers=MappingProxyType(tiers),
            model=Path(model).expanduser() if model is not None else None,
            pair=(pair[0], pair[1]) if pair is not None else None,
            feedback=t.boolean("feedback", True),
            feedback_limit=t.integer("feedback_limit", 20_000, minimum=1),
            store_prompts=t.boolean("store_prompts", False),
            query_cache_size=t.integer("query_cache_size", 4096, minimum=0),
            query_cache_ttl=t.number("query_cache_ttl", 3600.0, positive=True),
        )
        t.done()
        return settings

    def check_tiers(self, tiers: Mapping[str, object]) -> None:
        for name in self.tiers:
            if name not in tiers:
                raise ConfigError(
                    f"{KEY}.tiers.{name}",
                    f"names tier {name!r}, which is not defined in [tiers] "
                    f"(defined: {', '.join(tiers)})",
                )
