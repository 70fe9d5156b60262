"""Instruction counts by valgrind's callgrind, shared by the ``*_instructions.py`` benchmarks.

A script measures in two parts: outside valgrind it compiles a tiny helper (``build_helper``)
and starts itself again inside valgrind (``run``; ``dumped`` does both and collects the
dumps); inside, it loads the helper with ctypes and switches callgrind on only after imports
and warm-up, so that only the measured calls count. Counts are repeatable on a loaded machine,
where wall-clock figures are not; the script runs with ``PYTHONHASHSEED=0`` unless the
environment sets another seed. Needs valgrind and a C compiler with ``valgrind/callgrind.h``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HELPER_C = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void cg_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def build_helper(directory: str) -> str:
    """Compile the helper into ``directory``; its path, for ``ctypes.CDLL`` inside valgrind."""
    source = Path(directory) / "cgctl.c"
    library = Path(directory) / "cgctl.so"
    source.write_text(HELPER_C)
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True,
        capture_output=True,
    )
    return str(library)


def run(script: str, args: list[str], out: Path) -> str:
    """Run ``script`` with ``args`` under callgrind (instrumentation and collection off until
    the script switches them on), its output in ``out``; callgrind's report (stderr)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--collect-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(script).resolve()),
        *args,
    ]
    # one string hashing seed unless one is set: with Python's random one, counts move by up to
    # ~2k instructions per call from run to run (dict and set probes)
    env = {"PYTHONHASHSEED": "0", **os.environ}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"valgrind failed running {Path(script).name} {' '.join(args)}")
    return done.stderr


def dumps(directory: str) -> dict[str, int]:
    """Instructions in each dump the script made in ``directory`` with ``cg_dump(name)``, by
    name."""
    totals: dict[str, int] = {}
    for dump in Path(directory).glob("callgrind.out*"):
        body = dump.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: Client Request: (.*)$", body, re.M)
        total = re.search(r"^(?:totals|summary): (\d+)", body, re.M)
        if trigger and total:
            totals[trigger.group(1).strip()] = int(total.group(1))
    return totals


def dumped(script: str, args: list[str]) -> dict[str, int]:
    """Run ``script`` with ``args`` and ``--helper <the compiled helper>`` under callgrind, in a
    temporary directory; the instructions of each dump it made, by name (``dumps``)."""
    with tempfile.TemporaryDirectory() as directory:
        helper = build_helper(directory)
        run(script, [*args, "--helper", helper], Path(directory) / "callgrind.out")
        return dumps(directory)
