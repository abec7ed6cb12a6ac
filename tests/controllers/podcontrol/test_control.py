"""PodControl: slow-start batches, what it takes back from the expectations, its events."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.core import Container, Pod, PodSpec
from controllers.podcontrol import PodControl
from controllers.replicaset import slow_start_batches
from reconcile import (
    Event,
    EventRecorder,
    Expectations,
    FieldError,
    MemoryCluster,
    ObjectKey,
    ObjectMeta,
    Operation,
    VirtualClock,
)
from reconcile.testing import run

OWNER_KEY = ObjectKey(namespace="default", name="owner")


def pod(i: int) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=f"p{i}", namespace="default"),
        spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
    )


@settings(max_examples=40, deadline=None)
@given(count=st.integers(0, 40), refused=st.sets(st.integers(0, 39), max_size=6))
def test_create_stops_after_a_failed_batch_and_takes_back_what_never_appears(
    count: int, refused: set[int]
) -> None:
    """
    Batches run 1, 2, 4, ...; after a batch with a refusal nothing more is issued.

    Expectations end exactly as high as the pods that exist, so they are
    satisfied once the informer has seen those, and every attempt left one event.
    """

    async def scenario(clock: VirtualClock) -> None:
        cluster = MemoryCluster(clock=clock)

        def refuse(new: Pod, old: Pod | None, op: Operation) -> list[FieldError]:
            index = int(new.metadata.name[1:])
            if op is Operation.CREATE and index in refused:
                return [FieldError(field="metadata.name", detail="refused")]
            return []

        cluster.admission.register(Pod, validator=refuse)
        expectations = Expectations(clock=clock)
        recorder = EventRecorder(cluster, component="test", clock=clock)
        control = PodControl(cluster, expectations, recorder)
        owner = await cluster.create(pod(999))
        pods = [pod(i) for i in range(count)]
        expectations.expect_creations(OWNER_KEY, count)
        missing, errors = await control.create(
            owner, OWNER_KEY, pods, batches=slow_start_batches(count)
        )
        created = [p for p in (await cluster.list(Pod)).items if p.metadata.name != "p999"]
        # The batches that ran are exactly those up to the first with a refusal.
        issued, end = 0, 0
        for size in slow_start_batches(count):
            end += size
            issued = end
            if any(i in refused for i in range(end - size, end)):
                break
        assert issued == len(created) + len(errors)
        assert count - len(created) == missing
        assert {f"p{i}" for i in range(issued) if i not in refused} == {
            p.metadata.name for p in created
        }
        for _ in created:
            expectations.creation_observed(OWNER_KEY)
        assert expectations.satisfied(OWNER_KEY)
        events = cluster.list_nowait(Event).items
        reasons = sorted(e.reason for e in events for _ in range(e.count))
        assert ["FailedCreate"] * len(errors) + ["SuccessfulCreate"] * len(created) == reasons

    run(scenario)
