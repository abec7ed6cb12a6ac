"""The ReplicaSet controller alone on a MemoryCluster (no scheduler, kubelet, GC), virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import reconcile
from controllers import replicaset
from controllers.api.apps import ReplicaSet, ReplicaSetSpec
from controllers.api.core import Container, Pod, PodSpec, PodTemplateSpec
from reconcile import (
    FieldError,
    LabelSelector,
    ObjectKey,
    ObjectMeta,
    Operation,
    OwnerReference,
    Uid,
    controller_of,
    is_controlled_by,
)
from reconcile.testing import MemoryCluster, VirtualClock, run

KEY = ObjectKey(namespace="default", name="web")
Body = Callable[[MemoryCluster, VirtualClock], Awaitable[None]]


def harness(body: Body, *, setup: Callable[[MemoryCluster], None] | None = None) -> None:
    """Run ``body`` while a manager runs only the ReplicaSet controller (with events)."""

    async def scenario(clock: VirtualClock) -> None:
        api = MemoryCluster(clock=clock, seed=5)
        if setup is not None:
            setup(api)
        manager = reconcile.Manager(api, clock=clock)
        recorder = reconcile.EventRecorder(api, component="replicaset-controller", clock=clock)
        replicaset.setup(manager, recorder=recorder)
        async with manager:
            await body(api, clock)

    run(scenario)


def new_rs(replicas: int = 3, *, finalizers: tuple[str, ...] = ()) -> ReplicaSet:
    labels = {"app": "web"}
    return ReplicaSet(
        metadata=ObjectMeta(name="web", namespace="default", finalizers=finalizers),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=(Container(name="nginx", image="nginx"),)),
            ),
        ),
    )


def bare_pod(name: str, *, owner: OwnerReference | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            labels={"app": "web"},
            owner_references=() if owner is None else (owner,),
        ),
        spec=PodSpec(containers=(Container(name="nginx", image="nginx"),)),
    )


def pods(api: MemoryCluster) -> list[Pod]:
    return list(api.list_nowait(Pod, namespace="default").items)


def events(api: MemoryCluster, reason: str) -> list[str]:
    return [e.message for e in api.list_nowait(reconcile.Event).items if e.reason == reason]


def test_creates_missing_pods_with_generated_names() -> None:
    """Pods named ``web-xxxxx`` are created, each once, controlled by the set."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        rs = await api.create(new_rs(4))
        await clock.advance(1)
        created = pods(api)
        assert 4 == len(created)
        assert all(is_controlled_by(p.metadata, rs.metadata.uid) for p in created)
        assert all(p.metadata.name.startswith("web-") for p in created)
        assert 4 == len(events(api, "SuccessfulCreate"))
        status = api.get_nowait(ReplicaSet, "web", namespace="default").status
        assert (4, 4, 0, 0) == (
            status.replicas,
            status.fully_labeled_replicas,
            status.ready_replicas,
            status.available_replicas,
        )

    harness(body)


def test_ignores_pods_controlled_by_other_kinds() -> None:
    """A matching pod controlled by a Job stays the Job's; the set makes its own pods."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        job = OwnerReference(
            api_version="batch/v1", kind="Job", name="j", uid=Uid("job-uid"), controller=True
        )
        await api.create(bare_pod("job-pod", owner=job))
        await api.create(new_rs(2))
        await clock.advance(1)
        foreign = api.get_nowait(Pod, "job-pod", namespace="default")
        assert job == controller_of(foreign.metadata)
        assert 3 == len(pods(api))

    harness(body)


def test_deleting_replicaset_adopts_nothing() -> None:
    """A set held by a finalizer while deleting neither adopts orphans nor creates pods."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_rs(0, finalizers=("test/hold",)))
        await clock.advance(1)
        await api.delete(ReplicaSet, KEY)
        await api.create(bare_pod("orphan"))
        await clock.advance(1)
        orphan = api.get_nowait(Pod, "orphan", namespace="default")
        assert controller_of(orphan.metadata) is None
        assert 1 == len(pods(api))

    harness(body)


def test_failed_deletes_record_failed_delete() -> None:
    """A refused delete gives a FailedDelete event and ReplicaFailure/FailedDelete."""
    refuse = {"on": True}

    def setup(api: MemoryCluster) -> None:
        def no_deletes(new: Pod, old: Pod | None, op: Operation) -> list[FieldError]:
            if op is Operation.DELETE and refuse["on"]:
                return [FieldError(field="metadata", type="Forbidden", detail="protected")]
            return []

        api.admission.register(Pod, validator=no_deletes)

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        rs = await api.create(new_rs(2))
        await clock.advance(1)
        current = api.get_nowait(ReplicaSet, "web", namespace="default")
        spec = attrs.evolve(current.spec, replicas=1)
        await api.update(attrs.evolve(current, spec=spec))
        await clock.advance(0.01)
        status = api.get_nowait(ReplicaSet, "web", namespace="default").status
        (condition,) = status.conditions
        assert ("ReplicaFailure", "FailedDelete") == (condition.type, condition.reason)
        assert all(m.startswith("Error deleting: ") for m in events(api, "FailedDelete"))
        refuse["on"] = False
        await clock.advance(30)
        status = api.get_nowait(ReplicaSet, "web", namespace="default").status
        assert () == status.conditions
        assert 1 == len([p for p in pods(api) if is_controlled_by(p.metadata, rs.metadata.uid)])
        assert 1 == len(events(api, "SuccessfulDelete"))

    harness(body, setup=setup)


def test_forgets_a_deleted_replicaset() -> None:
    """Deleting the set leaves its pods to the garbage collector and syncs nothing more."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_rs(2))
        await clock.advance(1)
        await api.delete(ReplicaSet, KEY)
        await clock.advance(1)
        assert 2 == len(pods(api))  # no GC here: the pods stay, and no more are made

    harness(body)


FOREIGN = OwnerReference(
    api_version="apps/v1", kind="ReplicaSet", name="other", uid=Uid("foreign"), controller=True
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("scale"), st.integers(min_value=0, max_value=6)),
        st.tuples(st.just("delete"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("relabel"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("orphan"), st.integers(min_value=0, max_value=0)),
        st.tuples(st.just("foreign"), st.integers(min_value=0, max_value=0)),
        st.tuples(st.just("wait"), st.integers(min_value=0, max_value=3)),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(operations)
def test_converges_after_any_sequence_of_disruptions(ops: list[tuple[str, int]]) -> None:
    """Whatever happens to its pods, the set ends with spec.replicas pods and others' are intact."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        rs = await api.create(new_rs(3))
        extra = 0
        for op, n in ops:
            ours = sorted(
                (p for p in pods(api) if is_controlled_by(p.metadata, rs.metadata.uid)),
                key=lambda p: p.metadata.name,
            )
            if op == "scale":
                current = api.get_nowait(ReplicaSet, "web", namespace="default")
                await api.update(attrs.evolve(current, spec=attrs.evolve(current.spec, replicas=n)))
            elif op in ("delete", "relabel") and ours:
                victim = ours[n % len(ours)]
                if op == "delete":
                    await api.delete(Pod, victim.metadata.key)
                else:
                    await api.update(victim.with_meta(labels={"app": "moved"}))
            elif op in ("orphan", "foreign"):
                extra += 1
                owner = FOREIGN if op == "foreign" else None
                await api.create(bare_pod(f"{op}-{extra}", owner=owner))
            elif op == "wait":
                await clock.advance(n * 0.01)
        await clock.advance(10)
        rs = api.get_nowait(ReplicaSet, "web", namespace="default")
        desired = rs.spec.replicas
        ours = [p for p in pods(api) if is_controlled_by(p.metadata, rs.metadata.uid)]
        assert desired == len(ours)
        assert all(p.metadata.labels.get("app") == "web" for p in ours)
        assert (desired, rs.metadata.generation) == (
            rs.status.replicas,
            rs.status.observed_generation,
        )
        foreign = [p for p in pods(api) if p.metadata.name.startswith("foreign-")]
        assert all(controller_of(p.metadata) == FOREIGN for p in foreign)

    harness(body)
