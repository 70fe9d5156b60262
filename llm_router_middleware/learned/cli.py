"""The `train` and `calibrate` commands of `python -m llm_router_middleware`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .feedback import FeedbackStore, refit
from .model import DEFAULT_MODEL_PATH, DifficultyModel
from .outcomes import OutcomeFileError, read_outcomes
from .scorer import DifficultyScorer, default_encoder
from .settings import LearnedSettings
from .train import (
    DEFAULT_ALPHA,
    DEFAULT_LENGTH_WEIGHT,
    DEFAULT_MAX_TOKENS,
    DEFAULT_SEED,
    DEFAULT_TARGET,
    TARGETS,
    EmbeddingCache,
    train,
)

FEEDBACK_ALPHA = 0.05  # shrinkage toward the base model


def add_commands(commands: Any) -> None:
    t = commands.add_parser(
        "train",
        help="fit a learned-routing model on outcome data, or on the app's stored feedback",
    )
    t.add_argument("outcomes", nargs="?", help='JSONL: {"prompt", "task", "scores": {model: s}}')
    t.add_argument("--out", required=True, help="the model file to write (.npz)")
    t.add_argument(
        "--from-store",
        metavar="CONFIG",
        help="refit from the feedback kept in the "
        "state store of this router config, starting from its model",
    )
    t.add_argument("--alpha", type=float, default=None, help="ridge strength")
    t.add_argument("--target", choices=TARGETS, default=DEFAULT_TARGET, help="what is learned")
    t.add_argument(
        "--length-weight",
        type=float,
        default=DEFAULT_LENGTH_WEIGHT,
        help="weight of prompt length blended into the score (0: none)",
    )
    t.add_argument(
        "--max-tokens",
        type=int,
        default=DEFAULT_MAX_TOKENS,
        help="tokens of a prompt the encoder reads (the model file records it)",
    )
    t.add_argument("--seed", type=int, default=DEFAULT_SEED)
    t.add_argument("--holdout", type=float, default=0.1, help="share held out for the report")
    t.add_argument("--weak", help="model of the report's pair (default: lowest mean score)")
    t.add_argument("--strong", help="model of the report's pair (default: highest mean score)")
    t.add_argument("--embeddings-cache", help="reuse prompt features from this .npz")
    c = commands.add_parser(
        "calibrate", help="the difficulty threshold that sends a target share to the strongest"
    )
    c.add_argument("prompts", help='a sample of your prompts: JSONL with "prompt", or text lines')
    c.add_argument("--strong-share", type=float, action="append", help="target share (repeat)")
    c.add_argument("--model", help="model file (default: the shipped one)")


def run(args: argparse.Namespace) -> int:
    if args.command == "calibrate":
        return _calibrate(args)
    if args.from_store:
        return _refit(args)
    if not args.outcomes:
        raise ConfigError("train", "give an OUTCOMES.jsonl file or --from-store CONFIG")
    return _train(args)


def _train(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        outcomes = read_outcomes(args.outcomes)
    except OutcomeFileError as exc:
        raise ConfigError("train", str(exc)) from None
    pair = (args.weak, args.strong) if args.weak and args.strong else None
    for name in pair or ():
        missing = sum(name not in o.scores for o in outcomes)
        if missing:
            raise ConfigError("train", f"model {name!r} is not scored on {missing} prompts")
    if not 1 <= args.max_tokens <= 512:
        raise ConfigError("--max-tokens", f"must lie in [1, 512], got {args.max_tokens}")
    model, ev = train(
        outcomes,
        default_encoder(max_tokens=args.max_tokens),
        alpha=args.alpha if args.alpha is not None else DEFAULT_ALPHA,
        target=args.target,
        length_weight=args.length_weight,
        seed=args.seed,
        holdout=args.holdout,
        pair=pair,
        cache=EmbeddingCache(args.embeddings_cache),
        source=Path(args.outcomes).name,
        log=print,
    )
    if ev is not None:
        c = ev.curve
        print(f"held out {ev.rows} prompts (seed {args.seed}), weak {ev.weak}, strong {ev.strong}:")
        print(
            f"  APGR {c.apgr:.3f}  CPT(50%) {c.cpt(0.5):.1%}  CPT(80%) {c.cpt(0.8):.1%}  quality "
            f"{c.quality_at(0.2):.3f}/{c.quality_at(0.5):.3f}/{c.quality_at(0.8):.3f} at "
            f"20/50/80% strong (weak {c.weak:.3f}, strong {c.strong:.3f})"
        )
    model.save(args.out)
    size = Path(args.out).stat().st_size
    print(
        f"wrote {args.out} ({size / 1024:.0f} KiB, encoder {model.encoder_name}) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0


def _refit(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..router import _default_store

    config = load_config(args.from_store)
    settings = config.routing.learned or LearnedSettings()
    source = settings.model or DEFAULT_MODEL_PATH
    base = DifficultyModel.load(source)
    store = _default_store(config)
    feedback = FeedbackStore(store, prefix=config.state.key_prefix, limit=settings.feedback_limit)
    outcomes = feedback.outcomes()
    alpha = args.alpha if args.alpha is not None else FEEDBACK_ALPHA
    try:
        model = refit(base, outcomes, alpha)
    except ValueError as exc:
        hint = ""
        if config.state.backend == "memory":
            hint = (
                "; state.backend = 'memory' keeps feedback inside the app's process: use Redis "
                "to refit from the command line, or call feedback.refit in the app"
            )
        raise ConfigError(
            "train --from-store", f"{exc} ({len(outcomes)} outcomes kept){hint}"
        ) from None
    model.save(args.out)
    used = model.meta["feedback_rows"]
    print(
        f"refit {source} on {used} of {len(outcomes)} stored outcomes (alpha {alpha:g}) "
        f"-> {args.out}; point [routing.learned] model at it"
    )
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    path = Path(args.prompts)
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").split("\n") if ln.strip()]
    except OSError as exc:
        raise ConfigError("calibrate", f"cannot read {str(path)!r}: {exc}") from None
    prompts = []
    for line in lines:
        text = line
        if line.lstrip().startswith("{"):
            try:
                text = str(json.loads(line)["prompt"])
            except (ValueError, KeyError, TypeError):
                raise ConfigError("calibrate", f'{path}: a JSON line without "prompt"') from None
        prompts.append(text)
    if not prompts:
        raise ConfigError("calibrate", f"{path} holds no prompts")
    scorer = DifficultyScorer.load(args.model, cache_size=0, key="--model")
    from .scorer import feature_rows

    values = scorer.model.difficulties(feature_rows(scorer.encoder, prompts))
    print(f"{len(prompts)} prompts, difficulty median {float(np.median(values)):.3f}")
    for share in args.strong_share or [0.1, 0.2, 0.3, 0.5]:
        if not 0.0 <= share <= 1.0:
            raise ConfigError("--strong-share", f"must lie in [0, 1], got {share}")
        threshold = float(np.quantile(values, 1.0 - share)) if share < 1 else 0.0
        print(f"strong_share {share:g}: threshold = {threshold:.4f}")
    return 0
