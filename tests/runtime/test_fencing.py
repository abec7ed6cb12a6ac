"""Fenced writes: a leader paused past its lease cannot write once a standby has taken over."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconcile.cluster.client import Client, EventType, WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import ConflictError, FencedError
from reconcile.model.coordination import Lease
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ObjectMeta
from reconcile.model.ownership import controller_of
from reconcile.primitives.skew import SkewedClock
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.controller import Controller
from reconcile.runtime.leaderelection import LeaderElector, LeadershipLostError
from reconcile.runtime.manager import Manager
from reconcile.runtime.reconciler import Request, Result
from reconcile.testing import plant, run
from tests.kinds import Gadget, Widget, WidgetSpec, gadget_for

LEASE = ObjectKey("ns", "lock")
WRITER: contextvars.ContextVar[str] = contextvars.ContextVar("writer", default="user")


def _elector(client: Client, identity: str, clock: SkewedClock | VirtualClock) -> LeaderElector:
    return LeaderElector(client, name="lock", namespace="ns", identity=identity, clock=clock)


def _holder(cluster: MemoryCluster) -> str | None:
    return cluster.get_nowait(Lease, LEASE).spec.holder_identity


async def _forever() -> None:
    await asyncio.Event().wait()


async def _lead(elector: LeaderElector) -> asyncio.Task[None]:
    """Start ``elector`` with idle work and return once it leads."""
    task = asyncio.ensure_future(elector.run(_forever))
    await elector.wait_leading()
    return task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, LeadershipLostError):
        await task


# -- the fenced client -----------------------------------------------------------------------


def test_fenced_error_is_a_conflict() -> None:
    """A fenced write is a conflict for the retry rules (``Outcome.CONFLICT``)."""
    assert issubclass(FencedError, ConflictError)
    assert "Fenced" == FencedError.reason


def test_writes_pass_only_while_leading_and_reads_always() -> None:
    """Before it leads a candidate's writes are refused, naming the lease; reads pass through."""

    async def scenario(clock: VirtualClock) -> tuple[str, int, bool]:
        cluster = MemoryCluster(clock=clock)
        widget = await cluster.create(Widget(metadata=ObjectMeta(name="w", namespace="d")))
        elector = _elector(cluster, "a", clock)
        client = elector.fenced(cluster)
        with pytest.raises(FencedError) as refused:
            await client.update(attrs.evolve(widget, spec=WidgetSpec(size=2)))
        read = await client.get(Widget, "w", namespace="d")
        listed = len(await client.list(Widget))
        task = await _lead(elector)
        await client.update(attrs.evolve(read, spec=WidgetSpec(size=2)))
        await _stop(task)
        changed = 2 == cluster.get_nowait(Widget, "w", namespace="d").spec.size
        return str(refused.value), listed, changed

    message, listed, changed = run(scenario)
    assert "update 'w' refused: a does not hold lease ns/lock" == message
    assert 1 == listed
    assert changed


def test_write_after_takeover_is_refused_and_ends_leadership_at_once() -> None:
    """A write that finds another holder on the Lease is refused and the writer stops leading."""

    async def scenario(clock: VirtualClock) -> tuple[str, bool, float, int]:
        cluster = MemoryCluster(clock=clock)
        elector = _elector(cluster, "a", clock)
        client = elector.fenced(cluster)
        task = asyncio.ensure_future(elector.run(_forever))
        await elector.wait_leading()
        lease = cluster.get_nowait(Lease, LEASE)
        taken = attrs.evolve(lease.spec, holder_identity="b", lease_transitions=1)
        await cluster.update(attrs.evolve(lease, spec=taken))  # a takeover a does not know of
        started = clock.time()
        with pytest.raises(FencedError) as refused:
            await client.create(Widget(metadata=ObjectMeta(name="w", namespace="d")))
        with pytest.raises(LeadershipLostError):
            await task
        return (
            str(refused.value),
            elector.is_leader,
            clock.time() - started,
            (elector.statistics().fenced_writes),
        )

    message, leading, took, fenced = run(scenario)
    assert (
        "create 'w' refused: lease ns/lock is held by 'b' (transitions 1), not by 'a' (term 0)"
        == message
    )
    assert not leading
    assert 0.0 == took  # no waiting for the renewer or the deadline
    assert 1 == fenced


def test_a_new_term_of_the_same_holder_is_not_the_old_one() -> None:
    """The fence compares leaseTransitions too: a Lease re-acquired under the same name refuses."""

    async def scenario(clock: VirtualClock) -> bool:
        cluster = MemoryCluster(clock=clock)
        elector = _elector(cluster, "a", clock)
        client = elector.fenced(cluster)
        task = await _lead(elector)
        lease = cluster.get_nowait(Lease, LEASE)
        await cluster.update(
            attrs.evolve(lease, spec=attrs.evolve(lease.spec, lease_transitions=7))
        )
        with pytest.raises(
            FencedError, match=r"held by 'a' \(transitions 7\), not by 'a' \(term 0"
        ):
            await client.create(Widget(metadata=ObjectMeta(name="w", namespace="d")))
        await _stop(task)
        return elector.is_leader

    assert not run(scenario)


def test_planted_no_fencing_lets_every_write_through() -> None:
    """With the planted bug on, even a candidate that never led writes."""

    async def scenario(clock: VirtualClock) -> int:
        cluster = MemoryCluster(clock=clock)
        client = _elector(cluster, "a", clock).fenced(cluster)
        with plant("leaderelection.no-fencing"):
            await client.create(Widget(metadata=ObjectMeta(name="w", namespace="d")))
        return len(cluster.list_nowait(Widget))

    assert 1 == run(scenario)


def test_manager_writes_through_the_fenced_client_and_reads_through_the_raw_one() -> None:
    """With a LeaderElector, ``manager.client`` is fenced; without one it is the client given."""

    async def scenario(clock: VirtualClock) -> tuple[bool, bool]:
        cluster = MemoryCluster(clock=clock)
        fenced = Manager(cluster, clock=clock, elector=_elector(cluster, "a", clock))
        plain = Manager(cluster, clock=clock)
        with pytest.raises(FencedError):
            await fenced.client.create(Widget(metadata=ObjectMeta(name="w", namespace="d")))
        return fenced.client is cluster, plain.client is cluster

    assert (False, True) == run(scenario)


# -- elections under skewed clocks ------------------------------------------------------------


def test_a_skewed_standby_waits_a_full_lease_on_its_own_clock() -> None:
    """A standby whose wall clock is a minute ahead (and then steps) never takes over early."""

    async def scenario(base: VirtualClock) -> tuple[float | None, str | None]:
        cluster = MemoryCluster(clock=base)
        clocks = {"a": SkewedClock(base), "b": SkewedClock(base, offset=60)}
        a, b = (_elector(cluster, w, clocks[w]) for w in ("a", "b"))
        task_a = await _lead(a)
        task_b = asyncio.ensure_future(b.run(_forever))
        await base.advance(30)
        clocks["b"].jump(3600)
        await base.advance(30)
        early = base.time() if b.is_leader else None
        clocks["a"].freeze()  # a stops renewing; its last renewal was at t=60
        await b.wait_leading()
        took_over = base.time() - 60
        clocks["a"].thaw()
        await _stop(task_a)
        await _stop(task_b)
        return early, f"after {took_over:g}s"

    assert (None, "after 14s") == run(scenario)  # a renewed last at t=58: 58 + 15 < 74


# -- two managers, a paused leader ----------------------------------------------------------


@attrs.define
class _Writer:
    """A client that tags its writes with its owner's identity (read by ``on_commit``)."""

    inner: Client
    identity: str

    async def get(self, *args: object, **kwargs: object) -> object:
        return await self.inner.get(*args, **kwargs)  # type: ignore[arg-type]

    async def list(self, *args: object, **kwargs: object) -> object:
        return await self.inner.list(*args, **kwargs)  # type: ignore[arg-type]

    def watch(self, *args: object, **kwargs: object) -> AsyncIterator[WatchEvent[Resource]]:
        return self.inner.watch(*args, **kwargs)  # type: ignore[arg-type]

    async def _as_me(self, verb: str, *args: object, **kwargs: object) -> object:
        token = WRITER.set(self.identity)
        try:
            return await getattr(self.inner, verb)(*args, **kwargs)
        finally:
            WRITER.reset(token)

    async def create(self, *args: object, **kwargs: object) -> object:
        return await self._as_me("create", *args, **kwargs)

    async def update(self, *args: object, **kwargs: object) -> object:
        return await self._as_me("update", *args, **kwargs)

    async def update_status(self, *args: object, **kwargs: object) -> object:
        return await self._as_me("update_status", *args, **kwargs)

    async def patch(self, *args: object, **kwargs: object) -> object:
        return await self._as_me("patch", *args, **kwargs)

    async def delete(self, *args: object, **kwargs: object) -> object:
        return await self._as_me("delete", *args, **kwargs)


@attrs.define
class _GadgetMaker:
    """
    Creates the gadgets a widget is missing, counted from a live list (not the cache);
    making each takes a second of its own clock, so a paused replica resumes mid-plan.
    """

    manager: Manager

    async def reconcile(self, request: Request) -> Result:
        widget = self.manager.store(Widget).get(request)
        if widget is None:
            return Result.done()
        listed = await self.manager.client.list(Gadget, namespace=request.namespace)
        owned = [
            g
            for g in listed.items
            if (ref := controller_of(g.metadata)) is not None and ref.uid == widget.metadata.uid
        ]
        for _ in range(len(owned), widget.spec.size):
            await self.manager.clock.sleep(1.0)  # preparing it: a paused process stops here
            gadget = gadget_for(widget, "")
            meta = attrs.evolve(gadget.metadata, generate_name=f"{widget.metadata.name}-")
            await self.manager.client.create(attrs.evolve(gadget, metadata=meta))
        return Result.done()


@attrs.define
class Pair:
    """Two replicas of one controller on one cluster, each with its own clock and elector."""

    base: VirtualClock
    cluster: MemoryCluster
    clocks: dict[str, SkewedClock]
    electors: dict[str, LeaderElector]
    managers: dict[str, Manager]
    commits: list[tuple[str, str | None]] = attrs.field(factory=list)

    @classmethod
    def make(cls, base: VirtualClock) -> Pair:
        cluster = MemoryCluster(clock=base, seed=1)
        pair = cls(base, cluster, {}, {}, {})
        for who in ("a", "b"):
            clock = pair.clocks[who] = SkewedClock(base)
            elector = pair.electors[who] = _elector(cluster, who, clock)
            manager = Manager(_Writer(cluster, who), clock=clock, elector=elector)  # type: ignore[arg-type]
            manager.add(
                Controller(
                    name="gadgets", reconciler=_GadgetMaker(manager), for_=Widget, owns=(Gadget,)
                )
            )
            pair.managers[who] = manager
        cluster.on_commit.append(pair._observe)
        return pair

    def _observe(self, event: WatchEvent[Resource]) -> None:
        if isinstance(event.object, Gadget) and event.type is EventType.ADDED:
            self.commits.append((WRITER.get(), _holder(self.cluster)))

    def gadgets(self) -> int:
        return len(self.cluster.list_nowait(Gadget))


async def _paused_leader(base: VirtualClock) -> tuple[Pair, int, tuple[str | None, bool]]:
    """
    ``a`` leads and starts making 3 gadgets, is paused for 40 s mid-work, ``b`` takes over
    and makes them; then ``a`` resumes. Returns the pair, ``a``'s refused writes, and at the
    thaw the Lease's holder and whether ``a`` believed it led.
    """
    pair = Pair.make(base)
    a, b = pair.managers["a"], pair.managers["b"]
    async with a:
        await pair.electors["a"].wait_leading()
        async with b:
            await pair.cluster.create(
                Widget(metadata=ObjectMeta(name="w", namespace="d"), spec=WidgetSpec(size=3))
            )
            await base.advance(0.5)  # a is half-way through preparing its first gadget
            pair.clocks["a"].freeze()
            await base.advance(40)  # the lease expires; b takes over and makes the gadgets
            at_thaw = _holder(pair.cluster), pair.electors["a"].is_leader
            pair.clocks["a"].thaw()
            await base.advance(30)
            refused = pair.electors["a"].statistics().fenced_writes
    return pair, refused, at_thaw


def test_paused_leader_writes_are_fenced_after_the_standby_takes_over() -> None:
    """A leader paused mid-reconcile past its lease resumes, believes it leads, and is refused."""
    pair, refused, at_thaw = run(_paused_leader)
    assert ("b", True) == at_thaw
    assert 1 <= refused
    assert 3 == pair.gadgets()
    assert all(writer == holder for writer, holder in pair.commits), pair.commits
    assert [("b", "b")] * 3 == pair.commits
    assert 1 == pair.electors["a"].statistics().losses


def test_without_fencing_the_paused_leader_writes_duplicates() -> None:
    """With the fence switched off the same schedule lets the deposed leader add a gadget."""
    with plant("leaderelection.no-fencing"):
        pair, refused, _ = run(_paused_leader)
    assert 0 == refused
    assert 3 < pair.gadgets()
    assert ("a", "b") in pair.commits  # a wrote while b held the lease


# -- properties over random pause and skew schedules ----------------------------------------

WHO = st.sampled_from(["a", "b"])
STEP = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0, 2.0, 5.0, 11.0, 17.0])),
    st.tuples(st.just("freeze"), WHO),
    st.tuples(st.just("thaw"), WHO),
    st.tuples(st.just("skew"), WHO, st.sampled_from([-30.0, -5.0, 0.0, 5.0, 14.0, 30.0])),
    st.tuples(st.just("jump"), WHO, st.sampled_from([-20.0, 20.0])),
    st.tuples(st.just("resize"), st.integers(min_value=0, max_value=4)),
)


async def _schedule(base: VirtualClock, steps: list[tuple[object, ...]]) -> tuple[Pair, int]:
    """Run both replicas through ``steps``, then heal every clock and let them settle."""
    pair = Pair.make(base)
    widget = await pair.cluster.create(
        Widget(metadata=ObjectMeta(name="w", namespace="d"), spec=WidgetSpec(size=1))
    )
    wanted = 1
    async with pair.managers["a"], pair.managers["b"]:
        for step in steps:
            match step:
                case ("advance", float(seconds)):
                    await base.advance(seconds)
                case ("freeze", str(who)) if not pair.clocks[who].frozen:
                    pair.clocks[who].freeze()
                case ("thaw", str(who)) if pair.clocks[who].frozen:
                    pair.clocks[who].thaw()
                case ("skew", str(who), float(offset)):
                    pair.clocks[who].offset = offset
                case ("jump", str(who), float(seconds)):
                    pair.clocks[who].jump(seconds)
                case ("resize", int(size)):
                    widget = await pair.cluster.update(
                        attrs.evolve(widget, spec=WidgetSpec(size=size))
                    )
                    wanted = size
        for clock in pair.clocks.values():
            if clock.frozen:
                clock.thaw()
            clock.offset = 0.0
        await base.advance(60)
    return pair, wanted


# Paused mid-work past the lease, resumed after the takeover: sharp without the fence.
SHARP: list[tuple[object, ...]] = [
    ("resize", 2), ("advance", 0.5), ("freeze", "a"),
    ("advance", 17.0), ("advance", 17.0), ("thaw", "a"),
]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=12))
@example(steps=SHARP)
def test_every_write_is_made_by_the_current_holder(steps: list[tuple[object, ...]]) -> None:
    """Whatever the pauses, skews and steps, each committed write comes from the Lease holder."""
    pair, wanted = run(lambda base: _schedule(base, steps))
    assert [] == [(w, h) for w, h in pair.commits if w != h]
    assert pair.gadgets() >= wanted  # and the replicas still make progress once healed


def test_the_holder_property_detects_unfenced_writes() -> None:
    """The property above fails for a pause schedule when the fence is switched off."""
    with plant("leaderelection.no-fencing"):
        pair, _ = run(lambda base: _schedule(base, SHARP))
    assert [("a", "b")] == [(w, h) for w, h in pair.commits if w != h]
