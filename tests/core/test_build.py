"""_build.builder: the generated constructors build exactly what the dataclass would."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from llm_router_middleware._build import builder
from llm_router_middleware.routing import BudgetSnapshot, StateView


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    count: int = 3
    tags: tuple[str, ...] = ()
    table: dict[str, int] = field(default_factory=dict)


def test_builds_equal_instances_with_defaults_and_factories() -> None:
    build = builder(Sample)
    assert build is not Sample
    assert build("a") == Sample("a")
    assert build("a", 5, ("x",), {"k": 1}) == Sample("a", 5, ("x",), {"k": 1})
    assert build(name="b", table={"z": 2}) == Sample(name="b", table={"z": 2})
    first, second = build("a"), build("a")
    assert first.table is not second.table  # a fresh default per instance, as the factory gives
    assert type(first) is Sample
    assert repr(first) == repr(Sample("a"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.count = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        build()  # the required field is still required


def test_state_view_defaults_match() -> None:
    budget = BudgetSnapshot(None, None, "2026-12-01")
    built = builder(StateView)({}, {}, {}, budget, {})
    assert built == StateView({}, {}, {}, budget, {})


@dataclass(frozen=True)
class NoSlots:
    a: int


@dataclass(frozen=True, slots=True)
class PostInit:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a")


@dataclass(frozen=True, slots=True)
class Derived(Sample):
    extra: int = 0


@dataclass(frozen=True, slots=True, weakref_slot=True)
class WithWeakref:
    a: int


def test_classes_it_cannot_speed_up_are_returned_unchanged() -> None:
    assert builder(NoSlots) is NoSlots
    assert builder(PostInit) is PostInit
    assert builder(Derived) is Derived  # fields in a base's slots: not a layout it copies
    assert builder(WithWeakref) is WithWeakref
    assert builder(int) is int


def test_built_instances_pickle_hash_and_compare_as_the_dataclass() -> None:
    built = builder(BudgetSnapshot)(1.5, "global", "2026-12-01")
    made = BudgetSnapshot(1.5, "global", "2026-12-01")
    assert type(built) is BudgetSnapshot
    assert hash(built) == hash(made)
    assert built == made
    assert pickle.loads(pickle.dumps(built)) == made
    moved = dataclasses.replace(built, scope="tier:pro")
    assert moved == BudgetSnapshot(1.5, "tier:pro", "2026-12-01")
    assert dataclasses.asdict(built) == dataclasses.asdict(made)
