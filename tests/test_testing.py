"""The public test kit: History digests, ``run`` and the FakeClock alias."""

from __future__ import annotations

import hashlib
import json

import attrs

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.model.meta import ObjectMeta, ResourceVersion
from reconcile.testing import FakeClock, History, MemoryCluster, VirtualClock, run
from tests.kinds import Gizmo, Widget, WidgetSpec


async def _scenario(clock: VirtualClock, *, color: str = "red", keep: bool = False) -> History:
    """Create, update and delete one widget and create one gizmo; return the history."""
    cluster = MemoryCluster(clock=clock, seed=1)
    history = History(cluster, keep=keep)
    created = await cluster.create(Widget(metadata=ObjectMeta(name="a", namespace="ns")))
    await clock.advance(5)
    updated = await cluster.update(attrs.evolve(created, spec=WidgetSpec(size=3, color=color)))
    await cluster.delete(Widget, updated.key)
    await cluster.create(Gizmo(metadata=ObjectMeta(name="g")))
    return history


def test_equal_histories_have_equal_digests() -> None:
    """Two runs of the same scenario commit byte-identical histories."""
    first, second = run(_scenario), run(_scenario)
    assert first.digest() == second.digest()
    assert first.count == second.count


def test_histories_differing_in_one_event_have_different_digests() -> None:
    """Changing one field of one event changes the digest but not the count."""
    red = run(_scenario)
    blue = run(lambda clock: _scenario(clock, color="blue"))
    assert red.count == blue.count
    assert red.digest() != blue.digest()


def test_count_includes_every_committed_event() -> None:
    """Creates, updates and deletes are each counted and kept, in commit order."""
    history = run(lambda clock: _scenario(clock, keep=True))
    assert 4 == history.count
    types = [json.loads(line)["type"] for line in history.lines]
    assert ["ADDED", "MODIFIED", "DELETED", "ADDED"] == types


def test_digest_is_sha256_over_the_kept_lines() -> None:
    """The digest hashes each event's canonical JSON line followed by a newline."""
    history = run(lambda clock: _scenario(clock, keep=True))
    expected = hashlib.sha256("".join(line + "\n" for line in history.lines).encode())
    assert expected.hexdigest() == history.digest()


def test_kept_lines_carry_full_objects_and_kinds() -> None:
    """Kept lines hold the whole object, and ``kinds()`` lists the kinds seen."""
    history = run(lambda clock: _scenario(clock, keep=True))
    modified = json.loads(history.lines[1])["object"]
    assert {"size": 3, "color": "red"} == modified["spec"]
    assert "2025-01-01T00:00:00Z" == modified["metadata"]["creationTimestamp"]
    assert {"Widget", "Gizmo"} == history.kinds()


def test_lines_are_not_kept_unless_asked() -> None:
    """Without ``keep=True`` nothing but the hash and count is retained."""
    history = run(_scenario)
    assert [] == history.lines
    assert 4 == history.count


def test_empty_history_has_zero_count_and_digest_of_nothing() -> None:
    """A history of a cluster with no commits counts 0 and hashes the empty input."""

    async def scenario(clock: VirtualClock) -> History:
        return History(MemoryCluster(clock=clock))

    history = run(scenario)
    assert 0 == history.count
    assert hashlib.sha256().hexdigest() == history.digest()


def test_bookmarks_are_not_recorded() -> None:
    """Bookmarks carry no object and do not change the count or the digest."""
    cluster = MemoryCluster(clock=VirtualClock())
    history = History(cluster)
    before = history.digest()
    bookmark: WatchEvent[Widget] = WatchEvent(
        type=EventType.BOOKMARK, object=None, resource_version=ResourceVersion("9")
    )
    for observe in cluster.on_commit:
        observe(bookmark)
    assert (0, before) == (history.count, history.digest())


def test_run_returns_the_scenarios_result() -> None:
    """``run`` awaits the scenario and hands back whatever it returns."""

    async def scenario(clock: VirtualClock) -> tuple[str, float]:
        await clock.advance(30)
        return "done", clock.time()

    assert ("done", 30.0) == run(scenario)


def test_run_uses_the_given_clock() -> None:
    """A clock passed to ``run`` is the one the scenario receives and advances."""
    clock = VirtualClock()

    async def scenario(received: VirtualClock) -> bool:
        await received.advance(12)
        return received is clock

    assert run(scenario, clock=clock)
    assert 12.0 == clock.time()


def test_fake_clock_is_virtual_clock() -> None:
    """``FakeClock`` is an alias of ``VirtualClock``, not a separate class."""
    assert VirtualClock is FakeClock
