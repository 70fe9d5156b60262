from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import llm_router_middleware.semantic as semantic
from llm_router_middleware.errors import ConfigError
from llm_router_middleware.semantic import (
    Encoded,
    LocalMiniLMEncoder,
    MemoryBytesCache,
    QueryEmbeddingCache,
    RouteIndex,
    SemanticDecision,
    SemanticRouter,
    SemanticRouteSpec,
    SemanticSettings,
    routable_text,
)
from llm_router_middleware.semantic.index import Aggregation

ROUTES: list[dict[str, Any]] = [
    {
        "name": "billing",
        "model": "cheap",
        "utterances": [
            "I was charged twice for my subscription",
            "Where is my refund?",
            "Can I get a copy of my invoice?",
            "Why is there an extra fee on my bill?",
        ],
    },
    {
        "name": "coding",
        "tiers": {"free": "small-coder", "pro": "big-coder", "default": "small-coder"},
        "threshold": 0.45,
        "utterances": [
            "Fix this Python function that throws a KeyError",
            "How do I reverse a linked list in Java?",
            "Write a SQL query that joins two tables",
            "Why does my JavaScript promise never resolve?",
        ],
    },
    {
        "name": "chitchat",
        "model": "cheap",
        "utterances": ["hi there", "how are you doing today?", "good morning!", "thanks, bye"],
    },
]


class CountingEncoder:
    """Wraps the real encoder and counts the texts it embeds."""

    def __init__(self, inner: LocalMiniLMEncoder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def encode(self, texts: Sequence[str]) -> Encoded:
        self.texts.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def local() -> LocalMiniLMEncoder:
    return LocalMiniLMEncoder()


def settings(tmp_path: Path, **extra: Any) -> SemanticSettings:
    data: dict[str, Any] = {"routes": ROUTES, "cache_dir": str(tmp_path / "cache"), **extra}
    return SemanticSettings.from_dict(data)


def test_public_surface_is_pinned() -> None:
    assert sorted(semantic.__all__) == sorted(
        [
            "MODEL_ORIGIN",
            "MODEL_SHA256",
            "AutoThreshold",
            "TOKENIZER_SHA256",
            "BytesCache",
            "CalibrationReport",
            "Encoded",
            "Encoder",
            "EncoderError",
            "LiteLLMEncoder",
            "LocalMiniLMEncoder",
            "MemoryBytesCache",
            "QueryEmbeddingCache",
            "RouteIndex",
            "SemanticDecision",
            "SemanticRouteSpec",
            "SemanticRouter",
            "SemanticSettings",
            "auto_threshold",
            "background_texts",
            "background_vectors",
            "build_encoder",
            "calibrate",
            "calibrate_embeddings",
            "default_cache_dir",
            "normalize_text",
            "routable_text",
        ]
    )


@pytest.mark.parametrize(
    ("prompt", "route"),
    [
        ("I think you billed me two times this month", "billing"),
        ("my python script crashes with an IndexError", "coding"),
        ("hello, how's it going?", "chitchat"),
    ],
)
def test_routes_prompts(tmp_path: Path, local: LocalMiniLMEncoder, prompt: str, route: str) -> None:
    router = SemanticRouter(settings(tmp_path, threshold=0.4), local)
    decision = router.decide(prompt)
    assert decision.route == route
    assert decision.matched
    assert decision.score >= decision.threshold
    assert decision.runner_up is not None
    assert decision.runner_up != route
    assert decision.runner_up_score is not None
    assert decision.margin == pytest.approx(decision.score - decision.runner_up_score)
    assert f"semantic route {route}" in decision.reason


def test_per_route_threshold_and_default_route(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    router = SemanticRouter(settings(tmp_path, default_route="chitchat"), local)
    decision = router.decide("What is the boiling point of mercury in kelvin?")
    assert not decision.matched
    assert decision.route == "chitchat"
    assert decision.score < decision.threshold
    assert "no route cleared" in decision.reason
    assert "default route chitchat" in decision.reason
    assert router.calibration is not None  # the global threshold is "auto" by default
    auto = router.calibration.threshold
    assert router.index.thresholds.tolist() == pytest.approx([auto, 0.45, auto])


def test_no_match_without_default_route_is_none(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    router = SemanticRouter(settings(tmp_path, fallthrough="complexity"), local)
    decision = router.decide("What is the boiling point of mercury in kelvin?")
    assert decision.route is None
    assert not decision.matched
    assert decision.nearest in {"billing", "coding", "chitchat"}
    assert router.route_target(decision, "pro") is None


def test_route_target_by_tier(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    router = SemanticRouter(settings(tmp_path, threshold=0.4), local)
    decision = router.decide("Fix my Python function, it raises a KeyError")
    assert decision.route == "coding"
    assert router.route_target(decision, "pro") == "big-coder"
    assert router.route_target(decision, "enterprise") == "small-coder"
    assert router.route_target(decision, None) == "small-coder"


def test_disk_cache_reused_on_second_build(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    first = CountingEncoder(local)
    SemanticRouter(settings(tmp_path), first).warm()
    assert len(first.texts) == 12
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    assert not list((tmp_path / "cache").glob("*.tmp"))

    second = CountingEncoder(local)
    router = SemanticRouter(settings(tmp_path, threshold=0.4), second)
    index = router.warm()
    assert index.from_disk
    assert second.texts == []
    assert router.decide("hello there!").route == "chitchat"
    assert second.texts == ["hello there!"]


def test_changed_examples_miss_the_disk_cache(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    SemanticRouter(settings(tmp_path), local).warm()
    routes = [dict(r) for r in ROUTES]
    routes[2] = {**routes[2], "utterances": [*routes[2]["utterances"], "yo what's up"]}
    counting = CountingEncoder(local)
    data = {"routes": routes, "cache_dir": str(tmp_path / "cache")}
    assert not SemanticRouter(SemanticSettings.from_dict(data), counting).warm().from_disk
    assert len(counting.texts) == 13


def test_corrupt_disk_cache_is_rebuilt(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    SemanticRouter(settings(tmp_path), local).warm()
    [path] = (tmp_path / "cache").glob("*.npy")
    path.write_bytes(b"garbage")
    counting = CountingEncoder(local)
    assert not SemanticRouter(settings(tmp_path), counting).warm().from_disk
    assert len(counting.texts) == 12
    assert np.load(path).shape == (12, 384)


def test_query_cache_hit_flag(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    counting = CountingEncoder(local)
    router = SemanticRouter(settings(tmp_path, disk_cache=False), counting)
    first = router.decide("Where is my refund?")
    second = router.decide("  Where   is my refund?  ")
    assert not first.cached
    assert second.cached
    assert "embedding cached" in second.reason
    assert counting.texts.count("Where is my refund?") == 2  # the example, then one query
    assert second.route == first.route
    assert second.score == pytest.approx(first.score)


def test_query_cache_disabled(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    router = SemanticRouter(settings(tmp_path, query_cache_size=0), local)
    assert not router.decide("hi").cached
    assert not router.decide("hi").cached


def test_query_cache_round_trips_bytes() -> None:
    store = MemoryBytesCache(maxsize=2, ttl=60)
    cache = QueryEmbeddingCache(store, "enc")
    vector = np.arange(4, dtype=np.float32)
    cache.set("Hello  world", vector, True)
    hit = cache.get(" Hello world ")
    assert hit is not None
    np.testing.assert_array_equal(hit[0], vector)
    assert hit[1] is True
    assert cache.get("other") is None
    assert QueryEmbeddingCache(store, "other-encoder").get("Hello world") is None


def test_long_prompt_truncation_is_reported(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    router = SemanticRouter(settings(tmp_path), local)
    decision = router.decide("I was charged twice for my subscription. " * 100)
    assert decision.truncated
    assert "truncated" in decision.reason


def test_non_text_parts_are_ignored(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "write me a poem"},
        {"role": "assistant", "content": "Sure."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "Where is my refund?"},
            ],
        },
    ]
    assert routable_text(messages) == "Where is my refund?"
    router = SemanticRouter(settings(tmp_path), local)
    assert router.decide(messages).route == "billing"


def test_empty_prompt_gets_default_route_without_embedding(
    tmp_path: Path, local: LocalMiniLMEncoder
) -> None:
    counting = CountingEncoder(local)
    router = SemanticRouter(settings(tmp_path, default_route="chitchat"), counting)
    router.warm()
    before = len(counting.texts)
    only_image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
    for prompt in ("", "   ", [], only_image):
        decision = router.decide(prompt)
        assert decision.empty
        assert not decision.matched
        assert decision.route == "chitchat"
        assert "empty prompt" in decision.reason
    assert len(counting.texts) == before


def test_decide_embedding_uses_no_encoder(tmp_path: Path, local: LocalMiniLMEncoder) -> None:
    counting = CountingEncoder(local)
    router = SemanticRouter(settings(tmp_path, threshold=0.4), counting)
    vector = local.encode(["good morning to you"]).vectors[0]
    router.warm()
    before = len(counting.texts)
    decision = router.decide_embedding(vector)
    assert isinstance(decision, SemanticDecision)
    assert decision.route == "chitchat"
    assert len(counting.texts) == before


def test_mean_aggregation_scores_centroids(local: LocalMiniLMEncoder) -> None:
    routes = [(r["name"], r["utterances"]) for r in ROUTES]
    index = RouteIndex.build(routes, local, [0.3, 0.3, 0.3], aggregation="mean")
    vector = local.encode(["good morning to you"]).vectors[0]
    sims = index.matrix @ vector
    assert index.scores(vector)[2] == pytest.approx(sims[8:12].mean(), abs=1e-5)
    assert index.decide(vector).route == "chitchat"


def test_route_without_examples_is_a_config_error() -> None:
    bad = [dict(ROUTES[0]), {**ROUTES[1], "utterances": []}]
    with pytest.raises(ConfigError, match=r"routing\.semantic\.routes\[1\]\.utterances"):
        SemanticSettings.from_dict({"routes": bad})
    with pytest.raises(ConfigError, match=r"routes\[0\]\.utterances.*no example utterances"):
        SemanticSettings(routes=(SemanticRouteSpec("empty", (), model="m"),))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"routes": ROUTES, "colour": "red"}, "routing.semantic.colour"),
        ({"routes": ROUTES, "encoder": "bert"}, "routing.semantic.encoder"),
        ({"routes": ROUTES, "default_route": "nope"}, "routing.semantic.default_route"),
        ({"routes": ROUTES, "threshold": 2}, "routing.semantic.threshold"),
        ({"routes": ROUTES, "encoder": "litellm"}, "routing.semantic.model"),
        ({"routes": [{**ROUTES[0], "extra": 1}]}, "routing.semantic.routes[0].extra"),
        ({"routes": [{**ROUTES[0], "model": 3}]}, "routing.semantic.routes[0].model"),
        ({"routes": [{**ROUTES[0], "tiers": {"a": "b"}}]}, "routing.semantic.routes[0].model"),
        ({"routes": [{**ROUTES[1], "tiers": {"a": 1}}]}, "routing.semantic.routes[0].tiers"),
        ({"routes": [ROUTES[0], ROUTES[0]]}, "routing.semantic.routes[1].name"),
        ({"routes": []}, "routing.semantic.routes"),
        (
            {"routes": ROUTES, "default_route": "billing", "fallthrough": "cost"},
            "routing.semantic.fallthrough",
        ),
    ],
)
def test_config_errors_name_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        SemanticSettings.from_dict(data)
    assert info.value.key == key


def test_config_error_path_follows_where() -> None:
    with pytest.raises(ConfigError) as info:
        SemanticSettings.from_dict({"routes": [ROUTES[0], ROUTES[0]]}, where="x.sem")
    assert info.value.key == "x.sem.routes[1].name"


def test_from_dict_parses_everything(tmp_path: Path) -> None:
    parsed = SemanticSettings.from_dict(
        {
            "encoder": "litellm",
            "model": "text-embedding-3-small",
            "api_base": "http://127.0.0.1:1/v1",
            "api_key_env": "MY_KEY",
            "threshold": 0.5,
            "aggregation": "mean",
            "fallthrough": "complexity",
            "cache_dir": str(tmp_path),
            "query_cache_size": 10,
            "query_cache_ttl": 5,
            "routes": ROUTES,
        }
    )
    assert parsed.encoder == "litellm"
    assert parsed.aggregation == "mean"
    assert parsed.cache_dir == tmp_path
    assert parsed.query_cache_size == 10
    assert parsed.query_cache_ttl == 5.0
    assert parsed.route("coding").threshold == 0.45
    assert parsed.threshold_for(parsed.route("billing")) == 0.5
    assert SemanticSettings.from_dict({"routes": ROUTES, "disk_cache": False}).cache_dir is None


def test_litellm_encoder_needs_its_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMR_TEST_NO_SUCH_KEY", raising=False)
    data = {"encoder": "litellm", "model": "m", "api_key_env": "LLMR_TEST_NO_SUCH_KEY"}
    router = SemanticRouter(SemanticSettings.from_dict({**data, "routes": ROUTES}))
    with pytest.raises(ConfigError, match="LLMR_TEST_NO_SUCH_KEY is not set"):
        router.warm()


def _reference_decision(
    index: RouteIndex, vector: np.ndarray[Any, np.dtype[np.float32]]
) -> tuple[str | None, float, str | None, float | None, bool, str]:
    """The decision spelled out from per-route scores, as the docs define it."""
    scores = index.scores(vector).astype(np.float64)
    nearest = int(scores.argmax())
    passing = [i for i, s in enumerate(scores) if s >= index.thresholds[i]]
    chosen = nearest if nearest in passing else max(passing, key=lambda i: scores[i], default=None)
    matched = chosen is not None
    pick = nearest if chosen is None else chosen
    others = [i for i in range(len(scores)) if i != pick]
    second = max(others, key=lambda i: scores[i]) if others else None
    return (
        index.names[pick] if matched else index.default_route,
        float(scores[pick]),
        None if second is None else index.names[second],
        None if second is None else float(scores[second]),
        matched,
        index.names[nearest],
    )


@pytest.mark.parametrize("aggregation", ["max", "mean"])
@pytest.mark.parametrize("uniform", [True, False])
def test_decide_agrees_with_per_route_scores(aggregation: Aggregation, uniform: bool) -> None:
    """decide() skips the per-route reduction; it must pick what the route scores say."""
    rng = np.random.default_rng(7)
    counts = [1, 3, 7, 2, 5, 4]
    matrix = rng.standard_normal((sum(counts), 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    names = [f"r{i}" for i in range(len(counts))]
    thresholds = [0.3] * 6 if uniform else [0.2, 0.5, 0.35, 0.1, 0.45, 0.3]
    index = RouteIndex(
        names,
        counts,
        matrix,
        thresholds,
        aggregation=aggregation,
        default_route="r0",
    )
    outcomes = set()
    for _ in range(300):
        vector = rng.standard_normal(16).astype(np.float32)
        vector /= np.linalg.norm(vector)
        d = index.decide(vector)
        route, score, runner_up, runner_up_score, matched, nearest = _reference_decision(
            index, vector
        )
        assert (d.route, d.runner_up, d.matched, d.nearest) == (route, runner_up, matched, nearest)
        assert d.score == pytest.approx(score, abs=1e-6)
        assert d.runner_up_score == pytest.approx(runner_up_score, abs=1e-6)
        outcomes.add((d.matched, d.route == d.nearest))
    # the sample covers a match on the nearest route, on another route, and no match
    expected = {(True, True), (False, False)} if uniform else {(True, True), (True, False)}
    assert expected <= outcomes
