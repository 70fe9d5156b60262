"""`make demo` (examples/demo.py) end to end, in a subprocess: the table shows each decision."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from llm_router_middleware.testing import OTLPReceiver

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"
ROW = re.compile(r"^(\d+)\s+(.{19}) (\S+)\s+(\d{3})\s+(\S+)\s+(\S+(?: \(downgr\.\))?)\s+(\S+)")


@dataclass(frozen=True)
class Row:
    label: str
    who: str
    status: int
    strategy: str
    model: str
    fallbacks: str
    reason: str


def run_demo(**env: str) -> str:
    environment = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env}
    if "OTEL_EXPORTER_OTLP_ENDPOINT" not in env:
        environment.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=DEMO.parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def parse(output: str) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        match = ROW.match(line)
        if match is None:
            continue
        _, label, who, status, strategy, model, fallbacks = match.groups()
        reason_lines = [lines[i + 1].strip().removeprefix("└").strip()]
        for more in lines[i + 2 :]:  # a long reason wraps onto lines indented under it
            if not more.startswith("     ") or ROW.match(more):
                break
            reason_lines.append(more.strip())
        reason = " ".join(reason_lines)
        rows[label.strip()] = Row(
            label.strip(), who, int(status), strategy, model, fallbacks, reason
        )
    return rows


@pytest.fixture(scope="module")
def console_output() -> str:
    return run_demo()


def test_table_shows_every_decision(console_output: str) -> None:
    rows = parse(console_output)
    assert len(rows) == 12, console_output

    simple, hard = rows["simple prompt"], rows["hard prompt"]
    assert (simple.who, simple.status, simple.strategy, simple.model) == (
        "bob/pro",
        200,
        "complexity",
        "cheap",
    )
    assert "complexity=simple" in simple.reason
    assert (hard.status, hard.model, hard.fallbacks) == (200, "premium", "0")
    assert "complexity=complex" in hard.reason

    spoofed = rows["spoofed X-Tier: pro"]
    assert (spoofed.who, spoofed.model) == ("anonymous/default", "cheap")

    for label in ("premium 503", "premium 503 again"):
        fallback = rows[label]
        assert (fallback.status, fallback.model, fallback.fallbacks) == (200, "balanced", "1")
    breaker = rows["breaker open"]
    assert (breaker.status, breaker.model, breaker.fallbacks) == (200, "balanced", "0")
    assert "premium unavailable (breaker_open)" in breaker.reason

    assert rows["hard, full budget"].model == "premium"
    for label in ("hard, budget low", "hard, budget lower"):
        downgraded = rows[label]
        assert (downgraded.who, downgraded.model) == ("alice/free", "cheap (downgr.)")
        assert downgraded.reason.startswith("budget downgrade: preferred premium")
    refused = rows["hard, budget gone"]
    assert refused.status == 402
    assert "budget exhausted" in refused.reason

    assert rows["malformed messages"].status == 400
    assert "messages[0].role" in rows["malformed messages"].reason
    assert rows["body is not JSON"].status == 400


def test_reasons_are_wrapped_whole(console_output: str) -> None:
    table = console_output[: console_output.index("Spans (one line each")]
    reasons = [line for line in table.splitlines() if line.startswith("     ")]
    assert reasons
    assert not [line for line in reasons if "…" in line]
    assert all(len(line) <= 120 for line in table.splitlines())
    hard = parse(console_output)["hard prompt"]
    assert "4 complex keywords (analyze, compare, step by step, trade-offs)" in hard.reason
    low = parse(console_output)["hard, budget low"]  # long: wrapped onto a second line, whole
    assert low.reason.endswith("premium unavailable (budget) -> simple model cheap")


def test_console_spans_follow_the_table(console_output: str) -> None:
    table_end = console_output.index("12 body is not JSON")
    spans = console_output[table_end:]
    assert "Spans (one line each" in spans
    assert re.search(r"^POST /chat\s", spans, re.M)
    assert re.search(r"^  route complexity\s", spans, re.M)
    assert re.search(
        r"^    chat fake-premium\s+[\d.]+ ms ERROR .*error.type=ServiceUnavailable", spans, re.M
    )
    assert "!breaker_transition(premium: closed->open)" in spans
    assert "!candidate_rejected(premium: breaker_open)" in spans
    assert "sk-fake-demo-key" not in console_output


def test_spans_go_to_otlp_when_the_endpoint_is_set() -> None:
    with OTLPReceiver() as receiver:
        endpoint = receiver.endpoint
        output = run_demo(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        spans = receiver.wait_for(lambda s: len([x for x in s if x.name == "POST /chat"]) >= 12)
    assert f"exported over OTLP/HTTP to {endpoint}" in output
    assert "Spans (one line each" not in output
    routes = [s for s in spans if s.name == "route complexity"]
    chats = {s.name for s in spans if s.name.startswith("chat ")}
    assert {"chat fake-cheap", "chat fake-balanced", "chat fake-premium"} <= chats
    by_id = {s.span_id: s for s in spans}
    assert all(by_id[r.parent_span_id].name == "POST /chat" for r in routes if r.parent_span_id)
    assert {r.resource.get("service.name") for r in routes} == {"llm-router-demo"}
