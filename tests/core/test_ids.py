"""Request ids: 32 lowercase hex characters, distinct, a fresh prefix in a forked child."""

from __future__ import annotations

import os
import re

import pytest

from llm_router_middleware.ids import request_id


def test_ids_are_32_hex_characters_and_distinct() -> None:
    ids = [request_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert len({i[:16] for i in ids}) == 1  # one process, one prefix


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_draws_its_own_prefix() -> None:
    parent = request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write one id and leave at once
        os.write(write, request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert re.fullmatch(r"[0-9a-f]{32}", child)
    assert child[:16] != parent[:16]
