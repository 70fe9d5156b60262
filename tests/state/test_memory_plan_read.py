"""The memory store's planning read (``read_plan``) and its numbers stored as strings: the
same values as the general operations, whatever was written in between."""

from __future__ import annotations

import pytest

from llm_router_middleware.state import MemoryStore

KEYS = ["b:one", "b:two", "c:one"]


def check(store: MemoryStore, keys: list[str], numeric: list[str]) -> None:
    raws, values = store.read_plan(keys, numeric)
    expected_raws, expected_values = store.get_many(keys), store.get_numbers(numeric)
    assert values == expected_values
    assert raws == (None if not any(expected_raws) else expected_raws)


def test_read_plan_reads_every_write_of_a_string_record() -> None:
    now = [100.0]
    store = MemoryStore(clock=lambda: now[0])
    keys = list(KEYS)
    store.incr("n", 2.0)
    assert store.read_plan(keys, ["n", "absent"]) == (None, [2.0, 0.0])
    assert store.read_plan(keys, ["n"]) == (None, [2.0])  # all absent, remembered
    store.set("b:two", "open", ttl_s=5.0)
    assert store.read_plan(keys, ["n"]) == ([None, "open", None], [2.0])
    store.delete("b:two")
    assert store.read_plan(keys, ["n"]) == (None, [2.0])
    assert store.compare_and_set("c:one", None, "cool", ttl_s=5.0)
    assert store.read_plan(keys, []) == ([None, None, "cool"], [])
    now[0] = 106.0  # the record expired
    assert store.read_plan(keys, []) == (None, [])
    assert store.compare_and_set("b:one", None, "half", ttl_s=5.0)
    check(store, keys, ["n"])
    other = list(KEYS)  # another list of keys is read afresh
    store.delete("b:one")
    assert store.read_plan(other, []) == (None, [])
    store.set("b:one", "x")
    assert store.read_plan(keys, []) == (["x", None, None], [])


@pytest.mark.parametrize("writer", ["set", "compare_and_set", "incr", "hincr"])
def test_read_plan_after_any_writer_matches_the_general_reads(writer: str) -> None:
    store = MemoryStore()
    keys = list(KEYS)
    check(store, keys, ["n"])
    if writer == "set":
        store.set("b:one", "v")
    elif writer == "compare_and_set":
        store.compare_and_set("b:one", None, "v")
    elif writer == "incr":
        store.incr("n", 1.0)
    else:
        store.hincr("h", {"f": 1.0})
    check(store, keys, ["n"])


def test_numbers_stored_as_strings_are_parsed_by_reserve_and_charge() -> None:
    store = MemoryStore()
    store.set("a", "1.5")
    store.set("b", "2")
    assert store.reserve([("a", 10.0), ("b", 10.0)], 0.5) is None
    assert store.get_numbers(["a", "b"]) == [2.0, 2.5]
    store.set("a", "1.5")
    assert store.reserve([("a", 1.9), ("b", 10.0)], 0.5) == "a"  # refused: nothing changed
    assert store.get_numbers(["a", "b"]) == [1.5, 2.5]
    store.charge([("a", 0.0), ("c", 0.0)], 0.25)
    assert store.get_numbers(["a", "c"]) == [1.75, 0.25]
