"""python -m llm_router_middleware check / explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_router_middleware.__main__ import main

CONFIG = """
[[models]]
name = "premium"
model = "openai/fake-premium"
input_cost_per_1m = 10.0
output_cost_per_1m = 20.0
quality = 0.9
context_window = 8000

[[models]]
name = "cheap"
model = "openai/fake-cheap"
input_cost_per_1m = 0.5
output_cost_per_1m = 1.0
quality = 0.3
context_window = 8000

[routing]
strategy = "complexity"
fallbacks = ["premium", "cheap"]

[tiers.free]
models = ["cheap"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "router.toml"
    path.write_text(CONFIG)
    return path


def test_check_summarises_a_valid_config(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(config)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "model premium: openai/fake-premium" in out
    assert "tier free: cheap" in out


def test_check_names_the_bad_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace("quality = 0.3", "quality = 3"))
    assert main(["check", str(path)]) == 2
    assert "models[1].quality" in capsys.readouterr().err


def test_explain_shows_the_decision(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(config), "Please analyze and compare the trade-offs"]) == 0
    out = capsys.readouterr().out
    assert "selected  premium" in out
    assert "complexity=complex" in out
    assert main(["explain", str(config), "analyze and compare", "--tier", "free", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["selected"] == "cheap"
    assert plan["tier"] == "free"


def test_check_reports_every_error_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    broken = CONFIG.replace("quality = 0.3", "quality = 3").replace('"complexity"', '"complexty"')
    path.write_text(broken.replace('models = ["cheap"]', 'models = ["chep"]'))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: models[1].quality: must be at most 1, got 3" in err
    assert "routing.strategy" in err
    assert "did you mean 'complexity'?" in err
    assert "tiers.free.models[0]" in err
    assert "did you mean 'cheap'?" in err
    assert "3 config errors" in err


def test_check_runs_without_the_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLI_TEST_KEY", raising=False)
    path = tmp_path / "router.toml"
    keyed = 'name = "cheap"\napi_key_env = "CLI_TEST_KEY"'
    path.write_text(CONFIG.replace('name = "cheap"', keyed))
    assert main(["check", str(path)]) == 2
    assert "CLI_TEST_KEY is not set" in capsys.readouterr().err
    assert main(["check", str(path), "--no-env"]) == 0
    assert main(["explain", str(path), "hello", "--no-env"]) == 0
