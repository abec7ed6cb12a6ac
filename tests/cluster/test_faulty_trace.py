"""FaultyClient traces: every decision, write and delivery recorded, identically for one seed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from reconcile import ClientFaults, FaultyClient, Informer, VirtualClock
from reconcile.cluster.client import WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import ApiError
from reconcile.model.meta import ObjectMeta
from tests.kinds import Widget, WidgetSpec

Entry = Mapping[str, Any]

SWITCHES = {
    "faults",
    "crash_after",
    "remember",
    "lag",
    "catch_up",
    "expire_watches",
    "heal",
    "throttled",
    "conflict",
    "crashed",
}
WATCH_FATES = {
    "lagged",
    "coalesced",
    "dropped",
    "held_for_reorder",
    "bookmark_held",
    "duplicated",
    "delivered",
}


def _widget(name: str, size: int, app: str) -> Widget:
    meta = ObjectMeta(name=name, namespace="x", labels={"app": app})
    return Widget(metadata=meta, spec=WidgetSpec(size=size))


async def scenario(clock: VirtualClock, seed: int) -> tuple[list[Entry], dict[str, Any]]:
    """A run exercising every fault, with an informer and a raw watch following the client."""
    trace: list[Entry] = []
    server = MemoryCluster(clock=clock, seed=1)
    server.list_nowait(Widget)
    client = FaultyClient(server, name="ctl", clock=clock, seed=seed, record=trace.append)
    informer = Informer(client, Widget, clock=clock, labels="app=on")
    raw: list[WatchEvent[Widget]] = []
    outcome: dict[str, Any] = {"refused": 0}

    async def follow() -> None:
        try:
            async for event in client.watch(Widget, since=server.resource_version):
                raw.append(event)  # noqa: PERF401 - one by one: the task is cancelled
        except ApiError:
            outcome["raw_ended"] = True

    async def write(i: int) -> None:
        name = f"w{i % 5}"
        app = "on" if i % 3 else "off"
        try:
            current = server.get_nowait(Widget, name, namespace="x")
        except ApiError:
            current = None
        try:
            if current is None:
                await client.create(_widget(name, i, app))
            elif i % 7 == 0:
                await client.delete(Widget, name, namespace="x")
            else:
                meta = attrs.evolve(current.metadata, labels={"app": app})
                await client.update(attrs.evolve(current, metadata=meta, spec=WidgetSpec(size=i)))
        except ApiError:
            outcome["refused"] += 1
        await clock.advance(0.5)

    async with asyncio.TaskGroup() as tg:
        raw_task = tg.create_task(follow())  # stream 1
        await clock.wait_idle()
        run = tg.create_task(informer.run())
        await informer.wait_synced()
        client.set_faults(
            conflict_rate=0.2, throttle_rate=0.1, duplicate_rate=0.3, reorder_rate=0.3
        )
        for i in range(12):
            await write(i)
        client.remember()
        client.set_faults(coalesce=True)
        for i in range(12, 20):
            await write(i)
        client.lag(remembered=True)
        client.set_faults(coalesce=False, drop_rate=0.3)
        for i in range(20, 28):
            await write(i)
        client.expire_watches()
        await clock.advance(2)
        client.heal()
        await clock.advance(61)
        client.crash_after(1)
        await write(28)
        await write(29)
        await clock.advance(1)
        run.cancel()
        raw_task.cancel()
    outcome["writes"] = client.writes
    outcome["raw"] = len(raw)
    return trace, outcome


def run_scenario(seed: int) -> tuple[list[Entry], dict[str, Any]]:
    clock = VirtualClock()
    return clock.run(scenario(clock, seed))


def test_same_seed_gives_a_byte_identical_trace() -> None:
    """Two runs with one seed record the same trace, byte for byte; another seed differs."""
    first, _ = run_scenario(3)
    second, _ = run_scenario(3)
    other, _ = run_scenario(4)
    assert json.dumps(first) == json.dumps(second)
    assert json.dumps(first) != json.dumps(other)


@pytest.mark.parametrize("seed", [3, 11])
def test_every_entry_has_the_fields_the_docstring_promises(seed: int) -> None:
    """Each entry is a switch/decision, a write or a watch event's fate, with its fields."""
    trace, _ = run_scenario(seed)
    for entry in trace:
        assert {"t", "component"} <= entry.keys()
        assert "ctl" == entry["component"]
        assert 1 == len({"fault", "write", "watch"} & entry.keys()), entry
        if "fault" in entry:
            assert entry["fault"] in SWITCHES
            if entry["fault"] in ("throttled", "conflict"):
                assert {"op", "kind", "key"} <= entry.keys()
        elif "write" in entry:
            assert {"kind", "key", "rv"} <= entry.keys()
        else:
            assert entry["watch"] in WATCH_FATES
            assert {"stream", "kind", "type", "key", "rv"} <= entry.keys()
    assert "ctl" == trace[0]["component"]
    json.dumps(trace)  # JSON-ready


def test_the_trace_accounts_for_every_write_refusal_and_delivery() -> None:
    """Writes, injected refusals and deliveries in the trace match what the component saw."""
    trace, outcome = run_scenario(3)
    fates = dict.fromkeys(WATCH_FATES, 0)
    for entry in trace:
        if "watch" in entry:
            fates[entry["watch"]] += 1
    writes = [i for i, e in enumerate(trace) if "write" in e]
    injected = [e for e in trace if e.get("fault") in ("throttled", "conflict")]
    crashed = [i for i, e in enumerate(trace) if e.get("fault") == "crashed"]
    assert outcome["writes"] == len(writes)
    assert outcome["refused"] == len(injected) + 1  # the write after the crash
    assert [writes[-1] + 1] == crashed  # right after the write that used up crash_after(1)
    assert all(count > 0 for what, count in fates.items() if what != "bookmark_held"), fates
    delivered_to_raw = [e for e in trace if e.get("watch") == "delivered" and e["stream"] == 1]
    assert outcome["raw"] == len(delivered_to_raw)


def test_assigning_faults_is_recorded_with_every_rate() -> None:
    """``client.faults = ...`` is a switch like set_faults, and the trace shows all rates."""
    clock = VirtualClock()
    trace: list[Entry] = []
    client = FaultyClient(MemoryCluster(clock=clock), name="ctl", clock=clock, record=trace.append)
    client.faults = ClientFaults(drop_rate=0.5)
    client.set_faults(coalesce=True)
    expected = [
        {"fault": "faults", "conflict_rate": 0.0, "throttle_rate": 0.0, "drop_rate": 0.5,
         "duplicate_rate": 0.0, "reorder_rate": 0.0, "coalesce": False, "write_delay": 0.0},
        {"fault": "faults", "coalesce": True},
    ]  # fmt: skip
    assert expected == [{k: v for k, v in e.items() if k not in ("t", "component")} for e in trace]
    assert ClientFaults(drop_rate=0.5, coalesce=True) == client.faults
