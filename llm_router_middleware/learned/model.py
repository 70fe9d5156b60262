"""The difficulty model and its file: a versioned .npz checked against the encoder at load.

A model maps (prompt embedding, cheap features) to a raw score by a ridge-regularised linear
map (the predicted gain of a stronger model over a weaker one, averaged over the model pairs of
the training data), then to a difficulty in [0, 1] through the raw scores' quantiles on the
training prompts: difficulty 0.7 reads "more to gain than on 70 % of the prompts it was trained
on". The map is monotone, so it changes no ranking; it makes thresholds and shares readable.

The cheap features are clipped to the range they took on the training prompts before the dot
product: a linear model knows nothing beyond that range, and extrapolating it sent every
non-English prompt (a non-ASCII share of ~0.9 against at most 0.08 in training) far below the
lowest training score, to difficulty 0.

The file also holds one head per model named in the training data (its predicted score) and
those heads' predictions on a sample of training prompts, so `for_pair(weak, strong)` gives the
predicted gain of that very pair, with its own quantiles.
"""

from __future__ import annotations

import json
import zipfile
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError
from .features import FEATURE_NAMES

FORMAT = "llm-router-middleware/learned-difficulty"
VERSION = 1
#: the model trained on LLMRouter's train.jsonl that ships inside the package
DEFAULT_MODEL_PATH = Path(__file__).parent / "assets" / "difficulty-minilm.npz"

F32 = npt.NDArray[np.float32]


def clip_features(features: F32, dimension: int, low: F32, high: F32) -> F32:
    """``features`` (a row or rows: ``dimension`` embedding values, then the cheap features)
    with the cheap features clipped to [low, high]; the same array when nothing is outside."""
    cheap = features[..., dimension:]
    if bool(np.all(cheap >= low)) and bool(np.all(cheap <= high)):
        return features
    out = np.array(features, dtype=np.float32)
    out[..., dimension:] = np.clip(cheap, low, high)
    return out


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class DifficultyModel:
    encoder_name: str
    dimension: int
    weights: F32  # over [embedding, cheap features], standardisation folded in
    bias: float
    knots: F32  # raw-score quantiles of the training prompts, ascending
    meta: Mapping[str, Any] = field(default_factory=_empty)
    head_names: tuple[str, ...] = ()
    heads: F32 | None = None  # (models, features): each model's predicted score
    head_bias: F32 | None = None  # (models,)
    head_sample: F32 | None = None  # (prompts, models): the heads on a training sample
    feature_low: F32 | None = None  # the cheap features' range on the training prompts
    feature_high: F32 | None = None

    def for_pair(self, weak: str, strong: str) -> DifficultyModel:
        """The model of the predicted gain of ``strong`` over ``weak`` (names of the heads)."""
        names = self.head_names
        missing = [n for n in (weak, strong) if n not in names]
        if missing or self.heads is None or self.head_bias is None or self.head_sample is None:
            raise KeyError(
                f"no head for {', '.join(repr(m) for m in missing)} in this model "
                f"(heads: {', '.join(names) or 'none'})"
            )
        w, s = names.index(weak), names.index(strong)
        from .train import quantile_knots

        return DifficultyModel(
            encoder_name=self.encoder_name,
            dimension=self.dimension,
            weights=np.ascontiguousarray(self.heads[s] - self.heads[w], dtype=np.float32),
            bias=float(self.head_bias[s] - self.head_bias[w]),
            knots=quantile_knots(self.head_sample[:, s] - self.head_sample[:, w]),
            meta=MappingProxyType({**dict(self.meta), "pair": [weak, strong]}),
            feature_low=self.feature_low,
            feature_high=self.feature_high,
        )

    def bounded(self, features: F32) -> F32:
        """``features`` (one row or rows: embedding then cheap features) with the cheap
        features clipped to their training range (unchanged when the file has none)."""
        low, high = self.feature_low, self.feature_high
        if low is None or high is None:
            return features
        return clip_features(features, self.dimension, low, high)

    def raw(self, features: F32) -> float:
        return float(self.bounded(features) @ self.weights) + self.bias

    def difficulty(self, features: F32) -> float:
        """Difficulty in [0, 1] of one feature row (embedding then cheap features)."""
        return self.from_raw(self.raw(features))

    @cached_property
    def _ladder(self) -> list[float]:
        return [float(k) for k in self.knots]

    def from_raw(self, raw: float) -> float:
        """Linear between the quantile knots (a bisection on a list: a scalar np.interp
        costs more in call overhead than the whole search)."""
        knots = self._ladder
        i = bisect_right(knots, raw)
        if i == 0:
            return 0.0
        last = len(knots) - 1
        if i > last:
            return 1.0
        lo, hi = knots[i - 1], knots[i]
        return (i - 1 + (raw - lo) / (hi - lo)) / last

    def difficulties(self, features: F32) -> F32:
        raws = self.bounded(features) @ self.weights + self.bias
        grid = np.linspace(0.0, 1.0, len(self.knots))
        return np.asarray(np.interp(raws, self.knots, grid), dtype=np.float32)

    # --- the file --------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        header = {
            "format": FORMAT,
            "version": VERSION,
            "encoder": self.encoder_name,
            "dimension": self.dimension,
            "features": list(FEATURE_NAMES),
            "heads": list(self.head_names),
            **dict(self.meta),
        }
        arrays: dict[str, Any] = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
            "weights": self.weights.astype(np.float32),
            "bias": np.asarray([self.bias], dtype=np.float64),
            "knots": self.knots.astype(np.float32),
        }
        if self.heads is not None and self.head_bias is not None and self.head_sample is not None:
            arrays["heads"] = self.heads.astype(np.float32)
            arrays["head_bias"] = self.head_bias.astype(np.float32)
            arrays["head_sample"] = self.head_sample.astype(np.float32)
        if self.feature_low is not None and self.feature_high is not None:
            arrays["feature_low"] = self.feature_low.astype(np.float32)
            arrays["feature_high"] = self.feature_high.astype(np.float32)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: str | Path, *, key: str = "routing.learned.model") -> DifficultyModel:
        """Read a model file; anything stale, foreign or damaged is a ``ConfigError`` at ``key``."""
        source = Path(path)
        where = f"model file {str(source)!r}"
        try:
            with np.load(source, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except FileNotFoundError:
            raise ConfigError(key, f"{where} does not exist") from None
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise ConfigError(
                key, f"{where} is not a learned-routing model (.npz): {exc}"
            ) from None
        try:
            header = json.loads(bytes(arrays["header"]).decode())
        except (KeyError, ValueError):
            raise ConfigError(key, f"{where} has no readable header: not a model file") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ConfigError(key, f"{where} is not a {FORMAT} file")
        if header.get("version") != VERSION:
            raise ConfigError(
                key,
                f"{where} has format version {header.get('version')!r}; this version of "
                f"llm-router-middleware reads version {VERSION}: retrain it with "
                "`python -m llm_router_middleware train OUTCOMES.jsonl --out FILE`",
            )
        if tuple(header.get("features", ())) != FEATURE_NAMES:
            raise ConfigError(
                key,
                f"{where} was trained on other cheap features ({header.get('features')}); "
                "retrain it with this version",
            )
        dimension = int(header.get("dimension", -1))
        weights = np.asarray(arrays.get("weights"), dtype=np.float32)
        knots = np.asarray(arrays.get("knots"), dtype=np.float32)
        if weights.shape != (dimension + len(FEATURE_NAMES),) or knots.ndim != 1 or len(knots) < 2:
            raise ConfigError(key, f"{where} is damaged: its arrays do not match its header")
        names = tuple(str(n) for n in header.get("heads", ()))
        heads = arrays.get("heads")
        if names and (
            heads is None
            or heads.shape != (len(names), len(weights))
            or arrays.get("head_bias", np.empty(0)).shape != (len(names),)
            or arrays.get("head_sample", np.empty((0, 0))).shape[1:] != (len(names),)
        ):
            raise ConfigError(key, f"{where} is damaged: its model heads do not match its header")
        low, high = arrays.get("feature_low"), arrays.get("feature_high")
        if (low is None) != (high is None) or (
            low is not None
            and high is not None
            and (
                low.shape != (len(FEATURE_NAMES),)
                or high.shape != (len(FEATURE_NAMES),)
                or not bool(np.all(low <= high))
            )
        ):
            raise ConfigError(key, f"{where} is damaged: its feature range does not match")
        skip = {"format", "version", "encoder", "dimension", "heads"}
        meta = {k: v for k, v in header.items() if k not in skip}
        return cls(
            encoder_name=str(header.get("encoder")),
            dimension=dimension,
            weights=weights,
            bias=float(np.asarray(arrays["bias"]).reshape(-1)[0]),
            knots=knots,
            meta=MappingProxyType(meta),
            head_names=names,
            heads=np.asarray(heads, dtype=np.float32) if names else None,
            head_bias=np.asarray(arrays["head_bias"], dtype=np.float32) if names else None,
            head_sample=np.asarray(arrays["head_sample"], dtype=np.float32) if names else None,
            feature_low=None if low is None else np.asarray(low, dtype=np.float32),
            feature_high=None if high is None else np.asarray(high, dtype=np.float32),
        )

    def check_encoder(self, name: str, dimension: int, *, source: str, key: str) -> None:
        """A model only makes sense with the encoder it was trained on."""
        if name != self.encoder_name or dimension != self.dimension:
            raise ConfigError(
                key,
                f"model file {source!r} was trained on encoder {self.encoder_name!r} "
                f"({self.dimension} dimensions) but the router's encoder is {name!r} "
                f"({dimension} dimensions): retrain it with `python -m llm_router_middleware "
                "train OUTCOMES.jsonl --out FILE` (docs/learned.md)",
            )
