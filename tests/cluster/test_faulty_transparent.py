"""With every fault off, a FaultyClient is indistinguishable from the server it wraps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import FaultyClient, VirtualClock
from reconcile.cluster.client import Client, WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import ApiError
from reconcile.model.meta import ObjectMeta, ResourceVersion
from tests.kinds import Widget, WidgetSpec

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "update_status", "stale_update", "delete", "get"]),
        st.sampled_from(["a", "b"]),
        st.integers(0, 2),
        st.sampled_from(["on", "off"]),
    ),
    max_size=12,
)
WATCHES: list[dict[str, Any]] = [
    {},
    {"labels": "app=on", "bookmarks": True},
    {"since": ResourceVersion("0")},
    {"since": ResourceVersion("0"), "labels": "app=on", "bookmarks": True},
]


async def apply(client: Client, server: MemoryCluster, op: tuple[str, str, int, str]) -> Any:
    """One request; returns the object or the error's type and message."""
    verb, name, size, app = op
    try:
        if verb == "create":
            meta = ObjectMeta(name=name, namespace="x", labels={"app": app})
            return await client.create(Widget(metadata=meta, spec=WidgetSpec(size=size)))
        current = server.get_nowait(Widget, name, namespace="x")
        if verb == "update":
            meta = attrs.evolve(current.metadata, labels={"app": app})
            return await client.update(
                attrs.evolve(current, metadata=meta, spec=WidgetSpec(size=size))
            )
        if verb == "update_status":
            status = attrs.evolve(current.status, ready=size)
            return await client.update_status(attrs.evolve(current, status=status))
        if verb == "stale_update":
            meta = attrs.evolve(current.metadata, resource_version=ResourceVersion("1"))
            return await client.update(attrs.evolve(current, metadata=meta))
        if verb == "delete":
            return await client.delete(Widget, name, namespace="x")
        return await client.get(Widget, name, namespace="x")
    except ApiError as exc:
        return (type(exc), str(exc))


async def collect(stream: AsyncIterator[WatchEvent[Widget]], into: list[Any]) -> None:
    async for event in stream:
        into.append(event)  # noqa: PERF401 - one by one: the task is cancelled, not finished


async def observe(
    clock: VirtualClock, faulty: bool, ops: list[tuple[str, str, int, str]]
) -> list[Any]:
    """Everything a component sees when it sends ``ops`` through a plain or a faulty client."""
    server = MemoryCluster(clock=clock, seed=9)
    server.list_nowait(Widget)
    client: Client = FaultyClient(server, name="c", clock=clock) if faulty else server
    seen: list[list[Any]] = [[] for _ in WATCHES]
    tasks = [
        asyncio.get_running_loop().create_task(collect(client.watch(Widget, **kw), into))
        for kw, into in zip(WATCHES, seen, strict=True)
    ]
    results = []
    for op in ops:
        results.append(await apply(client, server, op))
        await clock.wait_idle()
    listing = await client.list(Widget)
    filtered = await client.list(Widget, labels="app=on")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [results, listing, filtered, seen]


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_client_without_faults_is_indistinguishable_from_the_server(
    ops: list[tuple[str, str, int, str]],
) -> None:
    """Same results, same errors, same lists and the same events on every kind of watch."""
    direct, through = VirtualClock(), VirtualClock()
    assert direct.run(observe(direct, False, ops)) == through.run(observe(through, True, ops))
