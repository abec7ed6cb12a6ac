"""``reconcile.delete_by_uid``: a planned deletion happens, is moot, or is retried."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from reconcile import (
    ClientFaults,
    ConflictError,
    FaultyClient,
    MemoryCluster,
    ObjectMeta,
    VirtualClock,
    delete_by_uid,
)
from tests.kinds import Widget

T = TypeVar("T")


def run(body: Callable[[MemoryCluster, VirtualClock], Awaitable[T]]) -> T:
    clock = VirtualClock()

    async def main() -> T:
        return await body(MemoryCluster(clock=clock), clock)

    return clock.run(main())


def widget(name: str = "w") -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"))


def test_deletes_the_object_that_still_has_the_uid() -> None:
    async def body(api: MemoryCluster, _: VirtualClock) -> tuple[bool, int]:
        w = await api.create(widget())
        deleted = await delete_by_uid(api, Widget, w.metadata.key, w.metadata.uid)
        return deleted, len(api.list_nowait(Widget).items)

    assert (True, 0) == run(body)


def test_a_gone_object_is_a_moot_deletion() -> None:
    async def body(api: MemoryCluster, _: VirtualClock) -> bool:
        w = await api.create(widget())
        await api.delete(Widget, w.metadata.key)
        return await delete_by_uid(api, Widget, w.metadata.key, w.metadata.uid)

    assert run(body) is False


def test_an_object_recreated_under_the_name_is_left_alone() -> None:
    async def body(api: MemoryCluster, _: VirtualClock) -> tuple[bool, bool]:
        old = await api.create(widget())
        await api.delete(Widget, old.metadata.key)
        new = await api.create(widget())
        deleted = await delete_by_uid(api, Widget, old.metadata.key, old.metadata.uid)
        survivor = api.get_nowait(Widget, "w", namespace="default")
        return deleted, survivor.metadata.uid == new.metadata.uid

    assert (False, True) == run(body)


def test_a_conflict_that_leaves_the_object_in_place_is_raised_for_a_retry() -> None:
    async def body(api: MemoryCluster, clock: VirtualClock) -> int:
        w = await api.create(widget())
        client = FaultyClient(api, name="c", clock=clock, faults=ClientFaults(conflict_rate=1.0))
        with pytest.raises(ConflictError):
            await delete_by_uid(client, Widget, w.metadata.key, w.metadata.uid)
        client.heal()
        assert await delete_by_uid(client, Widget, w.metadata.key, w.metadata.uid)
        return len(api.list_nowait(Widget).items)

    assert 0 == run(body)
