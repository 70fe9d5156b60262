"""`python -m llm_router_middleware train` and `calibrate` on small generated files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from learned_support import EASY, HARD, write_outcomes

from llm_router_middleware.__main__ import main
from llm_router_middleware.learned.model import DifficultyModel
from llm_router_middleware.learned.scorer import DifficultyScorer, feature_rows
from llm_router_middleware.semantic.encoders import Encoder


def test_train_writes_a_model_that_ranks_hard_prompts_higher(
    tmp_path: Path, encoder: Encoder, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_outcomes(tmp_path / "outcomes.jsonl")
    out = tmp_path / "model.npz"
    cache = tmp_path / "features.npz"
    args = ["train", str(data), "--out", str(out), "--embeddings-cache", str(cache), "--alpha", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "held out 5 prompts" in printed
    assert "weak weak, strong strong" in printed
    assert "APGR" in printed
    assert f"encoder {encoder.name}" in printed
    model = DifficultyModel.load(out)
    assert model.encoder_name == encoder.name
    assert model.dimension == encoder.dimension
    assert model.meta["rows"] == 48
    assert model.meta["trained_on"] == "outcomes.jsonl"
    hard = model.difficulties(feature_rows(encoder, HARD))
    easy = model.difficulties(feature_rows(encoder, EASY))
    assert float(hard.min()) > float(easy.max())
    # deterministic: the same command (features now from the cache) writes the same model
    again = tmp_path / "again.npz"
    assert main([*args[:3], str(again), *args[4:]]) == 0
    assert np.array_equal(DifficultyModel.load(again).weights, model.weights)


def test_calibrate_prints_the_threshold_for_a_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(HARD + EASY) + "\n")
    assert main(["calibrate", str(prompts), "--strong-share", "0.5"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("strong_share 0.5: threshold = ")
    threshold = float(line.rsplit("=", 1)[1])
    scorer = DifficultyScorer.load()
    above = [p for p in HARD + EASY if scorer.score(p).value >= threshold]
    assert len(above) == 6


def test_train_names_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "task": "t", "scores": {"a": 1}}\n{"prompt": 3}\n')
    assert main(["train", str(bad), "--out", str(tmp_path / "m.npz")]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err


def test_train_from_an_empty_store_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "router.toml"
    config.write_text(
        '[[models]]\nname = "a"\nmodel = "openai/a"\ninput_cost_per_1m = 1\n'
        'output_cost_per_1m = 1\ncontext_window = 1000\n[routing]\nstrategy = "learned"\n'
    )
    out = tmp_path / "refit.npz"
    assert main(["train", "--from-store", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no usable feedback" in err
    assert "(0 outcomes kept); state.backend = 'memory'" in err
    assert not out.exists()
