"""PromptMemo: bounded, expiring, exact-text memo of scored prompts."""

from __future__ import annotations

import pytest

from llm_router_middleware.learned.memo import PromptMemo


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_hit_returns_the_value_until_it_expires() -> None:
    clock = Clock()
    memo: PromptMemo[int] = PromptMemo(4, 10.0, clock)
    memo.set("a", 1)
    assert memo.get("a") == 1
    assert memo.get("a ") is None  # exact text: another prompt
    clock.now += 9.9
    assert memo.get("a") == 1
    clock.now += 0.2
    assert memo.get("a") is None
    assert len(memo) == 0


def test_the_oldest_entry_goes_first_and_a_rewrite_renews_it() -> None:
    memo: PromptMemo[int] = PromptMemo(2, 60.0, Clock())
    memo.set("a", 1)
    memo.set("b", 2)
    memo.set("a", 3)  # now the newest
    memo.set("c", 4)
    assert memo.get("b") is None
    assert (memo.get("a"), memo.get("c"), len(memo)) == (3, 4, 2)


@pytest.mark.parametrize(("size", "ttl"), [(0, 1.0), (1, 0.0)])
def test_a_memo_needs_room_and_time(size: int, ttl: float) -> None:
    with pytest.raises(ValueError, match="size >= 1 and ttl > 0"):
        PromptMemo(size, ttl)
