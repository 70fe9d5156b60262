from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
BANKING77 = Path(__file__).resolve().parents[3] / "shared" / "data" / "banking77"
SNIPS = BANKING77.parent / "snips"

LINES = [
    {"route": "billing", "text": "I was charged twice", "split": "examples"},
    {"route": "billing", "text": "Where is my refund?", "split": "examples"},
    {"route": "billing", "text": "Send me my invoice", "split": "examples"},
    {"route": "coding", "text": "Fix my Python function", "split": "examples"},
    {"route": "coding", "text": "Write a SQL join", "split": "examples"},
    {"route": "coding", "text": "Why does my Java code crash?", "split": "examples"},
    {"route": None, "text": "What is the capital of Peru?", "split": "examples"},
    {"route": None, "text": "Tell me a story about cats", "split": "examples"},
    {"route": "billing", "text": "you billed me two times", "split": "test"},
    {"route": "coding", "text": "my python script raises KeyError", "split": "test"},
    {"route": None, "text": "how tall is mount everest", "split": "test"},
]


@pytest.fixture
def eval_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in LINES) + "\n")
    return path


def test_reader_builds_routes_from_examples_only(eval_file: Path) -> None:
    import semantic_eval

    lines = semantic_eval.read_lines(eval_file)
    routes = semantic_eval.route_examples(lines)
    assert list(routes) == ["billing", "coding"]
    assert routes["billing"] == ["I was charged twice", "Where is my refund?", "Send me my invoice"]


def test_reader_rejects_bad_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import semantic_eval

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"route": "a", "text": "x", "split": "train"}\n')
    with pytest.raises(SystemExit, match=r"bad\.jsonl:1"):
        semantic_eval.read_lines(bad)


def test_harness_prints_both_rows(
    eval_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import semantic_eval

    monkeypatch.setattr(sys, "argv", ["semantic_eval.py", str(eval_file), "--timed", "3"])
    semantic_eval.main()
    out = capsys.readouterr().out
    assert "auto threshold" in out  # no flags: the router's default threshold
    assert "ours (max)" in out
    assert "aurelio 1.1 (mean)" in out
    assert "aurelio 1.1 (max)" in out
    for label in ("overall accuracy", "out-of-scope recall", "excl. embed", "incl. embed"):
        assert label in out
    assert "  billing" in out
    assert "  coding" in out


def test_harness_calibrates_on_examples_only(
    eval_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import semantic_eval

    argv = ["semantic_eval.py", str(eval_file), "--calibrate", "--no-aurelio", "--timed", "3"]
    monkeypatch.setattr(sys, "argv", argv)
    semantic_eval.main()
    out = capsys.readouterr().out
    assert "on 6 fit utterances" in out or "fit utterances" in out
    assert "aurelio" not in out


@pytest.mark.skipif(not BANKING77.is_dir(), reason="Banking77 data not present")
def test_banking77_converter_is_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import banking77_convert

    lines = banking77_convert.convert(BANKING77, seed=77)
    assert lines == banking77_convert.convert(BANKING77, seed=77)
    examples = [x for x in lines if x["split"] == "examples" and x["route"] is not None]
    routes = {x["route"] for x in examples}
    assert 8 <= len(routes) <= 10
    assert all(sum(x["route"] == r for x in examples) == 5 for r in routes)
    test_texts = {x["text"] for x in lines if x["split"] == "test"}
    assert not test_texts & {x["text"] for x in lines if x["split"] == "examples"}
    assert len(lines) <= 2000
    committed = BENCHMARKS / "data" / "banking77_routes.jsonl"
    assert [json.loads(x) for x in committed.read_text().splitlines()] == lines


@pytest.mark.skipif(not SNIPS.is_dir(), reason="SNIPS data not present")
def test_snips_converter_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import snips_convert

    lines = snips_convert.convert(SNIPS, seed=7)
    assert lines == snips_convert.convert(SNIPS, seed=7)
    examples = [x for x in lines if x["split"] == "examples"]
    assert {x["route"] for x in examples} == set(snips_convert.ROUTES)
    assert all(sum(x["route"] == r for x in examples) == 5 for r in snips_convert.ROUTES)
    test = [x for x in lines if x["split"] == "test"]
    assert sum(x["route"] is None for x in test) == 60
    assert len(test) == 60 * len(snips_convert.ROUTES) + 60
    committed = BENCHMARKS / "data" / "snips_routes.jsonl"
    assert [json.loads(x) for x in committed.read_text().splitlines()] == lines
