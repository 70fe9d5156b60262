"""The harnesses run end to end on a small outcome file: router_eval prints every router and the
learned decision alone; router_cv prints per-type figures with their spread, for chosen pairs or
every pair with a gap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from learned_support import EASY, HARD

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODELS = ("m1", "m2", "m3", "m4", "m5")  # mean score rises from m1 to m5


def _outcomes(path: Path) -> Path:
    lines = []
    for r in range(3):
        for i, p in enumerate(HARD):
            passed = 2 + (i + r) % 3  # the strongest 1-3 models pass
            scores = {m: float(k >= len(MODELS) - passed) for k, m in enumerate(MODELS)}
            lines.append({"prompt": f"{p} ({r})", "task": "hard", "scores": scores})
        for i, p in enumerate(EASY):
            scores = {m: float(k > 0 or (i + r) % 2 == 0) for k, m in enumerate(MODELS)}
            lines.append({"prompt": f"{p} ({r})", "task": "easy", "scores": scores})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


@pytest.fixture
def outcomes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return _outcomes(tmp_path / "outcomes.jsonl")


def test_router_eval_prints_every_router_and_the_learned_step(
    outcomes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import router_eval

    assert router_eval.main([str(outcomes), "--weak", "m1", "--strong", "m5"]) == 0
    out = capsys.readouterr().out
    for name in ("learned", "complexity", "length", "random", "oracle"):
        assert f"| {name} | " in out
    apgr = {
        line.split("|")[1].strip(): float(line.split("|")[2])
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith("| router")
    }
    assert max(apgr, key=apgr.__getitem__) == "oracle"
    assert apgr["learned"] > apgr["random"]  # the shipped model ranks these hard prompts higher
    assert "learned decision alone (LearnedRouting.measure, 36 prompts)" in out


def test_router_cv_reports_types_with_spread_for_unseen_pairs(
    outcomes: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import router_cv

    monkeypatch.setattr(router_cv, "MIN_FOLD", 10)
    assert router_cv.main([str(outcomes), "--pair", "m1:m5", "--pair", "m2:m4"]) == 0
    out = capsys.readouterr().out
    assert "2 held-out pairs (each removed from the target)" in out
    assert "| hard | 18 | 2 | " in out  # both pairs differ on the hard prompts
    assert "**mean over task types** (sd over types)" in out
    assert "learned above it, task types of" in out

    assert router_cv.main([str(outcomes), "--all-pairs", "--target", "irt_gain"]) == 0
    out = capsys.readouterr().out
    # the pairs whose means differ by >= 0.1 (m1 0.25, m2 0.67, m3 0.83, m4 = m5 = 1): all but m4:m5
    header = out.splitlines()[0]
    assert "target irt_gain" in header
    assert "; 9 held-out pairs" in header


def test_router_cv_refuses_a_pair_not_scored(outcomes: Path) -> None:
    import router_cv

    with pytest.raises(SystemExit, match="m1:gpt-x: both must be models scored"):
        router_cv.main([str(outcomes), "--pair", "m1:gpt-x"])
