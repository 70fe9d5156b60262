"""The route matrix: examples embedded once (cached on disk), a decision is one mat-vec product."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from llm_router_middleware.semantic.encoders import Encoder, FloatMatrix, normalize_rows

logger = logging.getLogger(__name__)

Aggregation = Literal["max", "mean"]
_FORMAT = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SemanticDecision:
    """What the semantic strategy decided, with everything a span or a reason needs.

    `route` is the matched route, else the default route (or None); `matched` says which.
    `score`/`threshold` belong to the matched route, or to the nearest one when none matched.
    `runner_up` is the best-scoring other route; `margin` = score - runner_up_score.
    """

    route: str | None
    score: float
    threshold: float
    runner_up: str | None
    runner_up_score: float | None
    margin: float | None
    cached: bool = False
    truncated: bool = False
    matched: bool = False
    nearest: str | None = None
    empty: bool = False

    @property
    def reason(self) -> str:
        if self.empty:
            head = "semantic: empty prompt, nothing to embed"
        elif self.matched:
            head = f"semantic route {self.route}: score {self.score:.3f} >= {self.threshold:.3f}"
        else:
            head = (
                f"semantic: no route cleared its threshold (nearest {self.nearest} "
                f"{self.score:.3f} < {self.threshold:.3f})"
            )
        parts = [head]
        if not self.matched and self.route is not None:
            parts.append(f"default route {self.route}")
        if self.runner_up is not None and self.runner_up_score is not None:
            parts.append(f"runner-up {self.runner_up} {self.runner_up_score:.3f}")
        if self.margin is not None:
            parts.append(f"margin {self.margin:.3f}")
        if self.cached:
            parts.append("embedding cached")
        if self.truncated:
            parts.append("prompt truncated to the encoder's window")
        return "; ".join(parts)


def examples_key(
    encoder_name: str, dimension: int, routes: Sequence[tuple[str, Sequence[str]]]
) -> str:
    payload = {
        "format": _FORMAT,
        "encoder": encoder_name,
        "dimension": dimension,
        "routes": [[name, list(utterances)] for name, utterances in routes],
    }
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


class RouteIndex:
    """Normalised example rows stacked route after route; per-route thresholds and a default."""

    def __init__(
        self,
        names: Sequence[str],
        counts: Sequence[int],
        matrix: FloatMatrix,
        thresholds: Sequence[float],
        *,
        aggregation: Aggregation = "max",
        default_route: str | None = None,
        from_disk: bool = False,
    ) -> None:
        if len(names) != len(counts) or len(names) != len(thresholds) or not names:
            raise ValueError("names, counts and thresholds must be non-empty and of equal length")
        if any(c < 1 for c in counts):
            empty = [n for n, c in zip(names, counts, strict=True) if c < 1]
            raise ValueError(f"route {empty[0]!r} has no examples")
        if matrix.shape[0] != sum(counts):
            raise ValueError("matrix rows do not match the example counts")
        if aggregation not in ("max", "mean"):
            raise ValueError(f"aggregation must be 'max' or 'mean', got {aggregation!r}")
        if default_route is not None and default_route not in names:
            raise ValueError(f"default route {default_route!r} is not a route")
        self.names: tuple[str, ...] = tuple(names)
        self.aggregation: Aggregation = aggregation
        self.default_route = default_route
        self.from_disk = from_disk
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        self.route_of_example = np.repeat(np.arange(len(names)), counts)
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        self._threshold_list = [float(t) for t in thresholds]
        counts_arr = np.asarray(counts, dtype=np.float32)[:, None]
        self.centroids = np.ascontiguousarray(
            np.add.reduceat(self.matrix, self.offsets, axis=0) / counts_arr, dtype=np.float32
        )
        n_routes = len(names)
        ends = [int(e) for e in np.cumsum(counts)]
        # The rows a decision scans are kept a second time in column-major order: BLAS's
        # column-major mat-vec kernel (sgemv "N") is ~15% faster on them than the row-major one
        # (measured, benchmarks/semantic_speed.py), and the mat-vec is most of a decision.
        if aggregation == "mean":
            per_route = list(range(n_routes))
            scan = np.asfortranarray(self.centroids)
            self._rows = (scan, per_route, per_route, [i + 1 for i in per_route])
            self._row_thresholds = self.thresholds
        else:
            route_of = [int(r) for r in self.route_of_example]
            scan = np.asfortranarray(self.matrix)
            self._rows = (scan, route_of, [int(o) for o in self.offsets], ends)
            self._row_thresholds = self.thresholds[self.route_of_example]
        self._uniform = bool(np.all(self.thresholds == self.thresholds[0]))

    @classmethod
    def build(
        cls,
        routes: Sequence[tuple[str, Sequence[str]]],
        encoder: Encoder,
        thresholds: Sequence[float],
        *,
        aggregation: Aggregation = "max",
        default_route: str | None = None,
        cache_dir: Path | None = None,
    ) -> RouteIndex:
        for name, utterances in routes:
            if not utterances:
                raise ValueError(f"route {name!r} has no example utterances")
        names = [name for name, _ in routes]
        counts = [len(u) for _, u in routes]
        texts = [u for _, utterances in routes for u in utterances]
        matrix: FloatMatrix | None = None
        path: Path | None = None
        if cache_dir is not None:
            path = matrix_cache_path(cache_dir, encoder, routes)
            matrix = load_matrix(path, (len(texts), encoder.dimension))
        from_disk = matrix is not None
        if matrix is None:
            encoded = encoder.encode(texts)
            matrix = normalize_rows(encoded.vectors)
            cut = [t for t, was_cut in zip(texts, encoded.truncated, strict=True) if was_cut]
            if cut:
                logger.warning(
                    "%d route example(s) were longer than the encoder's window and truncated",
                    len(cut),
                )
            if path is not None:
                save_matrix(path, matrix)
        return cls(
            names,
            counts,
            matrix,
            thresholds,
            aggregation=aggregation,
            default_route=default_route,
            from_disk=from_disk,
        )

    @property
    def counts(self) -> list[int]:
        return [int(c) for c in np.bincount(self.route_of_example, minlength=len(self.names))]

    def with_thresholds(self, thresholds: Sequence[float]) -> RouteIndex:
        """The same routes and matrix with other thresholds."""
        return RouteIndex(
            self.names,
            self.counts,
            self.matrix,
            thresholds,
            aggregation=self.aggregation,
            default_route=self.default_route,
            from_disk=self.from_disk,
        )

    def scores(self, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One score per route: max (or mean) cosine over the route's examples."""
        if self.aggregation == "mean":
            return self.centroids @ vector
        return np.maximum.reduceat(self.matrix @ vector, self.offsets)

    def decide(
        self, vector: npt.NDArray[np.float32], *, cached: bool = False, truncated: bool = False
    ) -> SemanticDecision:
        """One mat-vec product over the rows (examples, or centroids for `mean`), no per-route
        reduction: a route's max score is its best row's, so the best row names the nearest
        route, the best passing row the best passing route, and the best row outside the
        chosen route's segment the runner-up."""
        rows, route_of, starts, ends = self._rows
        sims = np.dot(rows, vector)
        best = int(sims.argmax())
        nearest = route_of[best]
        top = sims.item(best)
        if top >= self._threshold_list[nearest]:
            chosen, score, matched = nearest, top, True
        elif self._uniform:
            chosen, score, matched = nearest, top, False
        else:
            passing = sims >= self._row_thresholds
            if passing.any():
                row = int(np.where(passing, sims, -np.inf).argmax())
                chosen, score, matched = int(route_of[row]), float(sims[row]), True
            else:
                chosen, score, matched = nearest, top, False
        runner_up: str | None = None
        runner_up_score: float | None = None
        margin: float | None = None
        if len(self.names) > 1:
            sims[starts[chosen] : ends[chosen]] = -np.inf
            second = int(sims.argmax())
            runner_up = self.names[route_of[second]]
            runner_up_score = sims.item(second)
            margin = score - runner_up_score
        return SemanticDecision(
            route=self.names[chosen] if matched else self.default_route,
            score=score,
            threshold=self._threshold_list[chosen],
            runner_up=runner_up,
            runner_up_score=runner_up_score,
            margin=margin,
            cached=cached,
            truncated=truncated,
            matched=matched,
            nearest=self.names[nearest],
        )

    def empty_decision(self) -> SemanticDecision:
        return SemanticDecision(
            route=self.default_route,
            score=0.0,
            threshold=0.0,
            runner_up=None,
            runner_up_score=None,
            margin=None,
            empty=True,
        )


def matrix_cache_path(
    cache_dir: Path, encoder: Encoder, routes: Sequence[tuple[str, Sequence[str]]]
) -> Path:
    key = examples_key(encoder.name, encoder.dimension, routes)
    return Path(cache_dir) / f"{_UNSAFE.sub('_', encoder.name)}-{key[:40]}.npy"


def load_matrix(path: Path, shape: tuple[int, int]) -> FloatMatrix | None:
    try:
        loaded: Any = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable route-matrix cache %s: %s", path, exc)
        return None
    if not isinstance(loaded, np.ndarray) or loaded.shape != shape or loaded.dtype != np.float32:
        logger.warning("ignoring route-matrix cache %s: unexpected shape or type", path)
        return None
    return np.ascontiguousarray(loaded, dtype=np.float32)


def save_matrix(path: Path, matrix: FloatMatrix) -> None:
    """Write to a temp file in the same directory, then rename: readers never see half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, matrix, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logger.warning("could not write the route-matrix cache %s: %s", path, exc)
