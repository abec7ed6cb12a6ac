"""The async verbs against a MemoryCluster with Kubernetes' admission (no controllers)."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar, cast

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import kubectl
from controllers.api import install_admission
from controllers.api.apps import Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec
from controllers.kubectl import KubectlError, RolloutStatus
from controllers.kubectl.annotations import CHANGE_CAUSE, POD_TEMPLATE_HASH, RESTARTED_AT, REVISION
from reconcile import (
    Client,
    ConflictError,
    FrozenDict,
    LabelSelector,
    NotFoundError,
    ObjectMeta,
    Resource,
    owner_reference_to,
)
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.kubectl.builders import LABELS, T0, template

NS = "default"

R = TypeVar("R", bound=Resource)


def _cluster(clock: VirtualClock) -> MemoryCluster:
    cluster = MemoryCluster(clock=clock, seed=1)
    install_admission(cluster.admission)
    return cluster


async def _create_web(cluster: MemoryCluster, image: str = "nginx:1.25") -> Deployment:
    return await cluster.create(
        Deployment(
            metadata=ObjectMeta(name="web", namespace=NS),
            spec=DeploymentSpec(
                replicas=3, selector=LabelSelector(match_labels=LABELS), template=template(image)
            ),
        )
    )


async def _snapshot(cluster: MemoryCluster, revision: int) -> ReplicaSet:
    """Do what the Deployment controller would: a ReplicaSet for the current template."""
    d = await cluster.get(Deployment, "web", namespace=NS)
    labels = {**LABELS, POD_TEMPLATE_HASH: f"h{revision}"}
    pod = d.spec.template
    pod = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, labels=labels))
    notes = {REVISION: str(revision)}
    if CHANGE_CAUSE in d.metadata.annotations:
        notes[CHANGE_CAUSE] = d.metadata.annotations[CHANGE_CAUSE]
    return await cluster.create(
        ReplicaSet(
            metadata=ObjectMeta(
                name=f"web-h{revision}",
                namespace=NS,
                labels=labels,
                annotations=notes,
                owner_references=(owner_reference_to(d),),
            ),
            spec=ReplicaSetSpec(
                replicas=0, selector=LabelSelector(match_labels=labels), template=pod
            ),
        )
    )


def _image(d: Deployment) -> str:
    return d.spec.template.spec.containers[0].image


def test_set_image_writes_the_image_and_the_change_cause() -> None:
    """One update: new image, change cause recorded, generation bumped."""

    async def scenario(clock: VirtualClock) -> tuple[str, str, int]:
        cluster = _cluster(clock)
        await _create_web(cluster)
        d = await kubectl.set_image(
            cluster, Deployment, NS, "web", {"web": "nginx:1.26"}, change_cause="bump"
        )
        return _image(d), d.metadata.annotations[CHANGE_CAUSE], d.metadata.generation

    assert ("nginx:1.26", "bump", 2) == run(scenario)


def test_set_image_unknown_container_writes_nothing() -> None:
    """The error names the container and the object keeps its resource version."""

    async def scenario(clock: VirtualClock) -> tuple[str, bool]:
        cluster = _cluster(clock)
        before = await _create_web(cluster)
        with pytest.raises(KubectlError, match='unable to find container named "db"'):
            await kubectl.set_image(cluster, Deployment, NS, "web", {"db": "postgres"})
        after = await cluster.get(Deployment, "web", namespace=NS)
        return _image(after), before.metadata.resource_version == after.metadata.resource_version

    assert ("nginx:1.25", True) == run(scenario)


def test_unchanged_edit_records_no_change_cause() -> None:
    """Setting the current image writes nothing, not even the cause."""

    async def scenario(clock: VirtualClock) -> bool:
        cluster = _cluster(clock)
        await _create_web(cluster)
        d = await kubectl.set_image(
            cluster, Deployment, NS, "web", {"web": "nginx:1.25"}, change_cause="noop"
        )
        return CHANGE_CAUSE in d.metadata.annotations

    assert not run(scenario)


def test_scale_deployment_and_replica_set() -> None:
    """spec.replicas of either kind; --current-replicas is checked against the stored value."""

    async def scenario(clock: VirtualClock) -> tuple[int | None, int | None]:
        cluster = _cluster(clock)
        await _create_web(cluster)
        await _snapshot(cluster, 1)
        d = await kubectl.scale(cluster, Deployment, NS, "web", 5, current_replicas=3)
        rs = await kubectl.scale(cluster, ReplicaSet, NS, "web-h1", 2)
        with pytest.raises(KubectlError, match="Expected replicas to be 3, was 5"):
            await kubectl.scale(cluster, Deployment, NS, "web", 1, current_replicas=3)
        return d.spec.replicas, rs.spec.replicas

    assert (5, 2) == run(scenario)


def test_pause_resume_and_restart() -> None:
    """Pause blocks restart; resume allows it; restartedAt is the given time."""

    async def scenario(clock: VirtualClock) -> str:
        cluster = _cluster(clock)
        await _create_web(cluster)
        await kubectl.pause(cluster, NS, "web")
        with pytest.raises(KubectlError, match="already paused"):
            await kubectl.pause(cluster, NS, "web")
        with pytest.raises(KubectlError, match="can't restart paused deployment"):
            await kubectl.restart(cluster, Deployment, NS, "web", now=T0)
        await kubectl.resume(cluster, NS, "web")
        with pytest.raises(KubectlError, match="is not paused"):
            await kubectl.resume(cluster, NS, "web")
        d = await kubectl.restart(cluster, Deployment, NS, "web", now=clock.now())
        return d.spec.template.metadata.annotations[RESTARTED_AT]

    assert "2025-01-01T00:00:00Z" == run(scenario)


def test_missing_object_is_not_found() -> None:
    """API errors pass through."""

    async def scenario(clock: VirtualClock) -> None:
        with pytest.raises(NotFoundError):
            await kubectl.scale(_cluster(clock), Deployment, NS, "nope", 1)

    run(scenario)


def test_history_and_undo_through_the_api() -> None:
    """Revisions 1..3, undo to the previous, then to revision 1 explicitly."""

    async def scenario(clock: VirtualClock) -> list[object]:
        cluster = _cluster(clock)
        await _create_web(cluster)
        await _snapshot(cluster, 1)
        for revision, image in ((2, "nginx:1.26"), (3, "nginx:1.27")):
            cause = f"image {image}"
            await kubectl.set_image(
                cluster, Deployment, NS, "web", {"web": image}, change_cause=cause
            )
            await _snapshot(cluster, revision)
        history = await kubectl.history(cluster, NS, "web")
        back = await kubectl.undo(cluster, NS, "web")
        assert back.deployment is not None
        again = await kubectl.undo(cluster, NS, "web", to_revision=2)
        first = await kubectl.undo(cluster, NS, "web", to_revision=1)
        assert first.deployment is not None
        with pytest.raises(KubectlError, match="unable to find specified revision 7"):
            await kubectl.undo(cluster, NS, "web", to_revision=7)
        return [
            [(e.revision, e.change_cause) for e in history],
            (_image(back.deployment), back.deployment.metadata.annotations.get(CHANGE_CAUSE)),
            again.message,
            (_image(first.deployment), first.deployment.metadata.annotations.get(CHANGE_CAUSE)),
        ]

    assert [
        [(1, None), (2, "image nginx:1.26"), (3, "image nginx:1.27")],
        ("nginx:1.26", "image nginx:1.26"),
        "skipped rollback (current template already matches revision 2)",
        ("nginx:1.25", None),
    ] == run(scenario)


class _Racing:
    """A client whose first update loses a race against another writer."""

    def __init__(self, cluster: MemoryCluster) -> None:
        self.cluster = cluster
        self.conflicts = 0
        self.races = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cluster, name)

    async def update(self, obj: R) -> R:
        if not self.conflicts:
            self.conflicts += 1
            self.races += 1
            fresh = await self.cluster.get(type(obj), obj.key)
            labels = FrozenDict[str, str]({**fresh.metadata.labels, "touched": f"r{self.races}"})
            await self.cluster.update(fresh.with_meta(labels=labels))
        return await self.cluster.update(obj)


def test_edits_retry_on_conflict_and_keep_the_other_write() -> None:
    """A stale read makes the update conflict; the edit is reapplied to the fresh object."""

    async def scenario(clock: VirtualClock) -> tuple[int, str, str]:
        cluster = _cluster(clock)
        await _create_web(cluster)
        racing = _Racing(cluster)
        d = await kubectl.set_image(
            cast("Client", racing), Deployment, NS, "web", {"web": "nginx:2"}
        )
        return racing.conflicts, _image(d), d.metadata.labels["touched"]

    assert (1, "nginx:2", "r1") == run(scenario)


def test_conflicts_give_up_after_five_attempts() -> None:
    """A writer that always wins makes the edit fail with ConflictError."""

    class Loser(_Racing):
        async def update(self, obj: R) -> R:
            self.conflicts = 0
            return await super().update(obj)

    async def scenario(clock: VirtualClock) -> int:
        cluster = _cluster(clock)
        await _create_web(cluster)
        loser = Loser(cluster)
        with pytest.raises(ConflictError):
            await kubectl.scale(cast("Client", loser), Deployment, NS, "web", 9)
        return loser.races

    assert 5 == run(scenario)


def test_watch_rollout_yields_on_every_change_until_done() -> None:
    """Statuses follow the writes to the Deployment's status; the last one is done."""

    async def scenario(clock: VirtualClock) -> list[RolloutStatus]:
        cluster = _cluster(clock)
        d = await _create_web(cluster)
        seen: list[RolloutStatus] = []

        async def watch() -> None:
            seen.extend([current async for current in kubectl.watch_rollout(cluster, NS, "web")])

        task = asyncio.create_task(watch())
        await clock.advance(1)
        for updated, available in ((1, 0), (3, 2), (3, 3)):
            d = await cluster.get(Deployment, "web", namespace=NS)
            status = attrs.evolve(
                d.status,
                observed_generation=d.metadata.generation,
                replicas=3,
                updated_replicas=updated,
                available_replicas=available,
            )
            await cluster.update_status(attrs.evolve(d, status=status))
            await clock.advance(1)
        await task
        return seen

    messages = [s.message for s in run(scenario)]
    assert [
        "Waiting for deployment spec update to be observed...",
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
        "updated...",
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
        'deployment "web" successfully rolled out',
    ] == messages


def test_watch_rollout_reports_deletion() -> None:
    """The object going away ends the watch with kubectl's error."""

    async def scenario(clock: VirtualClock) -> None:
        cluster = _cluster(clock)
        await _create_web(cluster)

        async def watch() -> None:
            async for _ in kubectl.watch_rollout(cluster, NS, "web"):
                pass

        task = asyncio.create_task(watch())
        await clock.advance(1)
        await cluster.delete(Deployment, "web", namespace=NS)
        with pytest.raises(KubectlError, match="object has been deleted"):
            await task

    run(scenario)


@settings(max_examples=25, deadline=None)
@given(images=st.lists(st.sampled_from(["a:1", "b:2", "c:3", "d:4", "e:5"]), max_size=4))
def test_set_image_then_history_lists_causes_in_order(images: list[str]) -> None:
    """Each effective set image (plus the controller's ReplicaSet) is the next revision."""

    async def scenario(clock: VirtualClock) -> list[tuple[int, str | None]]:
        cluster = _cluster(clock)
        await _create_web(cluster)
        await _snapshot(cluster, 1)
        revision, current = 1, "nginx:1.25"
        for image in images:
            if image == current:
                continue
            await kubectl.set_image(
                cluster, Deployment, NS, "web", {"web": image}, change_cause=f"to {image}"
            )
            revision, current = revision + 1, image
            await _snapshot(cluster, revision)
        return [(e.revision, e.change_cause) for e in await kubectl.history(cluster, NS, "web")]

    expected: list[tuple[int, str | None]] = [(1, None)]
    for image in images:
        if image != (expected[-1][1] or "to nginx:1.25")[3:]:
            expected.append((len(expected) + 1, f"to {image}"))
    assert expected == run(scenario)


def test_watch_rollout_survives_compaction() -> None:
    """Dropping the server's watch history does not end a rollout watch."""

    async def scenario(clock: VirtualClock) -> list[bool]:
        cluster = _cluster(clock)
        await _create_web(cluster)
        seen: list[bool] = []

        async def watch() -> None:
            seen.extend([s.done async for s in kubectl.watch_rollout(cluster, NS, "web")])

        task = asyncio.create_task(watch())
        await clock.advance(1)
        cluster.compact(Deployment)
        d = await cluster.get(Deployment, "web", namespace=NS)
        status = attrs.evolve(
            d.status,
            observed_generation=d.metadata.generation,
            replicas=3,
            updated_replicas=3,
            available_replicas=3,
        )
        await cluster.update_status(attrs.evolve(d, status=status))
        await clock.advance(1)
        await task
        return seen

    assert [False, True] == run(scenario)
