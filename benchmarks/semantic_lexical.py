"""A lexical signal beside the embedding: does word overlap help semantic routing decide?

    python benchmarks/semantic_lexical.py [--seeds 10] [--betas 0,0.3,0.5,1]

Each route example and query also gets a TF-IDF vector (lowercased words, a light suffix strip,
IDF from the shipped background prompts, sublinear term counts, unit length); a query's score
against an example is ``(cosine + beta * lexical cosine) / (1 + beta)``. That blend is exactly
the dot product of the stacked, rescaled vectors, so the router's auto threshold runs on it
unchanged. Printed per beta: the splits of ``semantic_splits.py`` (auto threshold and the
test-tuned ceiling, with the cross-dataset choice score), then the harness files
``benchmarks/data/*_routes.jsonl`` as ``semantic_eval.py`` scores them with the defaults.
Not a router feature: the measurement behind docs/semantic.md's "A lexical signal" section.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import semantic_eval as se
import semantic_splits as ss

from llm_router_middleware.semantic import (
    LocalMiniLMEncoder,
    auto_threshold,
    background_vectors,
    default_cache_dir,
)
from llm_router_middleware.semantic.auto_threshold import route_scores
from llm_router_middleware.semantic.background import background_texts

WORD = re.compile(r"[a-z0-9']+")
FILES = [Path(__file__).resolve().parent / "data" / f for f in ("banking77", "snips")]


def tokens(text: str) -> list[str]:
    out = []
    for raw in WORD.findall(text.lower()):
        word = raw.strip("'")
        if not word:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > 4 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


class Lexical:
    """TF-IDF vectors over a fixed vocabulary, IDF from the background prompts."""

    def __init__(self, background: list[str], vocabulary_texts: list[str]) -> None:
        df: dict[str, int] = {}
        for text in background:
            for word in set(tokens(text)):
                df[word] = df.get(word, 0) + 1
        self.df, self.n = df, len(background)
        self.vocab: dict[str, int] = {}
        for text in vocabulary_texts:
            for word in tokens(text):
                self.vocab.setdefault(word, len(self.vocab))

    def matrix(self, texts: list[str]) -> ss.Matrix:
        out = np.zeros((len(texts), len(self.vocab)), np.float32)
        for i, text in enumerate(texts):
            counts: dict[str, int] = {}
            for word in tokens(text):
                counts[word] = counts.get(word, 0) + 1
            weights = {
                w: (1 + math.log(c)) * (math.log((self.n + 1) / (self.df.get(w, 0) + 1)) + 1)
                for w, c in counts.items()
            }
            norm = math.sqrt(sum(x * x for x in weights.values())) or 1.0
            for word, x in weights.items():
                j = self.vocab.get(word)
                if j is not None:
                    out[i, j] = x / norm
        return out


def stacked(vectors: ss.Matrix, lexical: ss.Matrix, beta: float) -> ss.Matrix:
    both = np.hstack([vectors, math.sqrt(beta) * lexical]) / math.sqrt(1 + beta)
    return both.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--betas", default="0,0.3,0.5,1")
    parser.add_argument("--cache", type=Path, default=default_cache_dir() / "eval")
    args = parser.parse_args()
    betas = [float(b) for b in args.betas.split(",")]
    encoder = LocalMiniLMEncoder()
    background = list(background_texts())
    background_rows = background_vectors(encoder)
    data = {name: ss.load(encoder, name, args.cache) for name in ("banking77", "snips")}
    texts = {name: tuple([t for t, _ in part] for part in ss.lines(name)) for name in data}
    lexical = Lexical(background, [t for name in data for t in texts[name][0]])
    lex = {name: (lexical.matrix(texts[name][0]), lexical.matrix(texts[name][1])) for name in data}
    lex_background = lexical.matrix(background)

    print(f"{args.seeds} seeds per setup; overall (mean±sd) / in-scope / out-of-scope recall")
    print(f"{'':26}" + "".join(f"{name:>30}" for name in ss.SETUPS))
    for beta in betas:
        rows = {
            name: (
                stacked(xtr, lex[name][0], beta),
                ytr,
                stacked(xte, lex[name][1], beta),
                yte,
            )
            for name, (xtr, ytr, xte, yte) in data.items()
        }
        bg = stacked(background_rows, lex_background, beta)

        def rule(m: ss.Matrix, c: list[int], bg: ss.Matrix = bg) -> float:
            return auto_threshold(m, c, bg).threshold

        auto = {name: ss.evaluate(rows, name, args.seeds, rule) for name in ss.SETUPS}
        print(
            ss.line(f"auto, beta {beta}", auto)
            + f"  choice Banking77 {ss.choice_score(auto, 'banking77'):.3f}"
            + f" SNIPS {ss.choice_score(auto, 'snips'):.3f}"
        )
        ceiling = {
            name: ss.evaluate(rows, name, args.seeds, rule, ss.test_tuned) for name in ss.SETUPS
        }
        print(ss.line(f"ceiling, beta {beta}", ceiling), flush=True)

    for path in FILES:
        lines = se.read_lines(path.with_name(f"{path.name}_routes.jsonl"))
        routes = se.route_examples(lines)
        names = list(routes)
        examples = [t for n in names for t in routes[n]]
        counts = [len(routes[n]) for n in names]
        test = [x for x in lines if x.split == "test"]
        file_lexical = Lexical(background, examples)
        vectors = encoder.encode(examples).vectors
        queries = encoder.encode([x.text for x in test]).vectors
        lex_examples = file_lexical.matrix(examples)
        lex_queries = file_lexical.matrix([x.text for x in test])
        lex_bg = file_lexical.matrix(background)
        inside = np.array([x.route is not None for x in test])
        for beta in betas:
            matrix = stacked(vectors, lex_examples, beta)
            threshold = auto_threshold(
                matrix, counts, stacked(background_rows, lex_bg, beta)
            ).threshold
            scores = route_scores(stacked(queries, lex_queries, beta), matrix, counts, "max")
            best = scores.argmax(axis=1)
            predicted = [
                names[int(i)] if s >= threshold else None
                for i, s in zip(best, scores.max(axis=1), strict=True)
            ]
            right = np.array([p == x.route for p, x in zip(predicted, test, strict=True)])
            print(
                f"{path.name}_routes.jsonl, beta {beta}: threshold {threshold:.3f}, overall "
                f"{right.mean():.3f} / in scope {right[inside].mean():.3f} / out-of-scope "
                f"recall {right[~inside].mean():.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
