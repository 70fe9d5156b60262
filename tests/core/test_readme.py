"""The README's configuration example is complete and valid, and every code block of the
README runs as written (see its Development section for the rules and the skip marker)."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llm_router_middleware import Router, load_config
from llm_router_middleware.__main__ import main as cli
from llm_router_middleware.testing import FakeProvider

README = Path(__file__).resolve().parents[2] / "README.md"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)


def test_the_configuration_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readme")
    config = load_config(tomllib.loads(toml_blocks()[0]))
    assert list(config.models) == ["premium", "balanced", "cheap"]
    assert config.models["balanced"].input_cost_per_token > 0  # from litellm's price map
    assert config.routing.complexity.levels["complex"] == "premium"
    assert config.budgets.per_tier_usd["free"] == 20.0
    router = Router(config)
    plan = router.plan([{"role": "user", "content": "hi"}])
    assert plan.tier == "free"
    assert plan.selected == "cheap"


def test_the_semantic_example_is_a_valid_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readme")
    base = tomllib.loads(toml_blocks()[0])
    semantic = tomllib.loads(next(b for b in toml_blocks() if "[routing.semantic]" in b))
    base["routing"]["strategy"] = "semantic"
    base["routing"]["semantic"] = semantic["routing"]["semantic"]
    config = load_config(base)
    assert config.routing.semantic is not None
    assert config.routing.semantic.routes[0].name == "billing"


# --- every code block runs ------------------------------------------------------------------
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    heading: str
    skip: bool

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang}, {self.heading})"


def blocks() -> list[Block]:
    found: list[Block] = []
    lines = README.read_text().splitlines()
    heading, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        match = FENCE.match(line)
        if match is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        code = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Block(match.group(1), code, i + 1, heading, bool(SKIP.search(before))))
        i = end + 1
    return found


def of(lang: str, *langs: str) -> list[Block]:
    return [b for b in blocks() if b.lang in (lang, *langs) and not b.skip]


MODELS = (("premium", 5, 0.95), ("balanced", 1, 0.8), ("cheap", 0.1, 0.6))


def router_toml(base_url: str) -> str:
    models = "".join(
        f'[[models]]\nname = "{name}"\nmodel = "openai/fake-{name}"\napi_base = "{base_url}"\n'
        f'api_key = "sk-readme"\ninput_cost_per_1m = {price}\noutput_cost_per_1m = {price * 2}\n'
        f"quality = {quality}\ncontext_window = 16000\n\n"
        for name, price, quality in (
            ("premium", 5, 0.95),
            ("balanced", 1, 0.8),
            ("cheap", 0.1, 0.6),
        )
    )
    return models + (
        '[routing]\nstrategy = "complexity"\ndefault_tier = "free"\n'
        '[tiers.free]\nmodels = ["cheap", "balanced"]\n[tiers.pro]\n'
    )


MESSAGES = [{"role": "user", "content": "hi"}]


def probe_starlette(ns: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    response = TestClient(ns["app"]).post("/answer", json={"messages": MESSAGES})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "cheap"


def probe_fastapi(ns: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    response = TestClient(ns["app"]).post("/answer", json={"q": "hi"})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "cheap"  # alice is pro: complexity picks cheap for "hi"


def probe_flask(ns: dict[str, Any]) -> None:
    client = ns["app"].test_client()
    headers = {"Authorization": "Bearer token-alice"}
    response = client.post("/answer", json={"messages": MESSAGES}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.get_json()["model"] == "cheap"
    assert client.post("/summary", json={"messages": MESSAGES}).status_code == 200


# Blocks that define an app get a request, by the heading they are under
PROBES: dict[str, Callable[[dict[str, Any]], None]] = {
    "Thirty seconds with Starlette": probe_starlette,
    "FastAPI": probe_fastapi,
    "Flask": probe_flask,
}


@pytest.fixture
def workdir(tmp_path: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "router.toml").write_text(router_toml(fake_provider.base_url))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readme")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    return tmp_path


@pytest.mark.parametrize("block", of("python"), ids=str)
def test_python_block_runs(block: Block, workdir: Path, fake_provider: FakeProvider) -> None:
    router = Router.from_config("router.toml")
    llm = router.handle()
    ns: dict[str, Any] = {
        "__name__": f"readme_block_{block.line}",
        "messages": list(MESSAGES),
        "llm": llm,
        "request": SimpleNamespace(llm=llm, state=SimpleNamespace(llm=llm)),
        "router": router,
        "send": [].append,
        "BASE_DIR": workdir,
    }
    exec(compile(block.code, str(block), "exec"), ns)
    for name, value in list(ns.items()):
        if name.startswith("test_") and callable(value):
            value(fake_provider)
    probe = PROBES.get(block.heading)
    if probe is not None and "app" in ns:
        probe(ns)


@pytest.mark.parametrize("block", of("toml"), ids=str)
def test_toml_block_loads(block: Block, workdir: Path) -> None:
    data = tomllib.loads(block.code)
    if "models" not in data:  # a section: merged into the first complete configuration
        base = tomllib.loads(toml_blocks()[0])
        data = merge(base, data)
    assert load_config(data).models


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.mark.parametrize("block", of("sh", "bash", "shell", "console"), ids=str)
def test_shell_block_is_valid_and_its_cli_lines_run(
    block: Block, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checked = subprocess.run(["bash", "-n"], input=block.code, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    for line in block.code.splitlines():
        if line.startswith("python -m llm_router_middleware "):
            argv = shlex.split(line, comments=True)[3:]
            assert cli(argv) == 0, (line, capsys.readouterr().err)


def test_the_extraction_sees_every_block() -> None:
    found = blocks()
    assert sum(b.lang == "python" for b in found) >= 8
    assert {b.lang for b in found} >= {"python", "toml", "sh"}
    assert not [b for b in found if b.skip]  # no exception today: keep it that way if you can
    probed = {b.heading for b in found if b.lang == "python" and "app =" in b.code}
    assert set(PROBES) <= probed  # each probe has its block
