"""
A tiny world for driving the pure planner: ReplicaSets whose pods become available after a delay.

:class:`World` applies a :class:`~controllers.deployment.Plan` the way the
reconciler and the API server would (uids, creation times, resource
versions are not modelled; names are), and plays an idealised ReplicaSet
controller: it creates missing pods at once (available ``delay`` seconds
later) and deletes surplus pods at once, unavailable ones first; a deleted
pod lingers ``grace`` seconds as terminating, which only Recreate watches.
"""

from __future__ import annotations

from typing import Any

import attrs

from controllers.api.apps import Deployment, ReplicaSet
from controllers.api.core import Pod, PodStatus
from controllers.deployment import (
    CreateReplicaSet,
    DeleteReplicaSet,
    Plan,
    UpdateReplicaSet,
    find_new_replica_set,
    plan,
)
from controllers.deployment.util import replicas_of
from reconcile import ObjectMeta, Uid, owner_reference_to
from tests.controllers.deployment.builders import at, template


@attrs.define
class World:
    """The Deployment, its ReplicaSets and their pods at virtual time ``now`` (seconds)."""

    deployment: Deployment
    delay: float = 2.0
    grace: float = 0.0
    now: float = 0.0
    replica_sets: dict[str, ReplicaSet] = attrs.field(factory=dict)
    pods: dict[str, list[float]] = attrs.field(factory=dict)
    """ReplicaSet name → the times its pods become available."""
    terminating: list[tuple[ReplicaSet, float]] = attrs.field(factory=list)
    """Deleted pods still shutting down: (their ReplicaSet, when they are gone)."""
    events: list[str] = attrs.field(factory=list)
    created: int = 0

    # -- the controller side ---------------------------------------------------------------

    def plan(self) -> Plan:
        """What the Deployment controller decides now."""
        return plan(
            self.deployment,
            list(self.replica_sets.values()),
            self.terminating_pods(),
            now=at(self.now),
        )

    def sync(self) -> Plan:
        """One Deployment sync: plan and apply."""
        decided = self.plan()
        self.apply(decided)
        return decided

    def apply(self, decided: Plan) -> None:
        """Apply ``decided`` as the reconciler and the API server would."""
        for write in decided.writes:
            match write:
                case CreateReplicaSet(replica_set=rs, event=event):
                    self.created += 1
                    meta = attrs.evolve(
                        rs.metadata,
                        uid=Uid(f"uid-{rs.metadata.name}"),
                        creation_timestamp=at(self.now + self.created * 1e-3),
                        generation=1,
                    )
                    self.replica_sets[rs.metadata.name] = attrs.evolve(rs, metadata=meta)
                    self.pods.setdefault(rs.metadata.name, [])
                case UpdateReplicaSet(replica_set=rs, event=event):
                    old = self.replica_sets[rs.metadata.name]
                    generation = old.metadata.generation + (rs.spec != old.spec)
                    meta = attrs.evolve(rs.metadata, generation=generation)
                    self.replica_sets[rs.metadata.name] = attrs.evolve(
                        rs, metadata=meta, status=old.status
                    )
                case DeleteReplicaSet(replica_set=rs):
                    event = None
                    del self.replica_sets[rs.metadata.name]
                    self.pods.pop(rs.metadata.name, None)
            if event is not None:
                self.events.append(event.message)
        d = self.deployment
        if decided.annotations is not None:
            d = attrs.evolve(d, metadata=attrs.evolve(d.metadata, annotations=decided.annotations))
        if decided.status is not None:
            d = attrs.evolve(d, status=decided.status)
        self.deployment = d

    # -- the world side --------------------------------------------------------------------

    def update(self, deployment: Deployment) -> None:
        """A user's write of the Deployment's spec (the generation moves on a spec change)."""
        generation = self.deployment.metadata.generation + (deployment.spec != self.deployment.spec)
        meta = attrs.evolve(self.deployment.metadata, generation=generation)
        self.deployment = attrs.evolve(self.deployment, spec=deployment.spec, metadata=meta)

    def replica_set_controllers(self) -> None:
        """Every ReplicaSet controller syncs: pod counts to spec, status from pods."""
        self.terminating = [(rs, gone) for rs, gone in self.terminating if gone > self.now]
        for name, rs in self.replica_sets.items():
            pods = self.pods.setdefault(name, [])
            want = replicas_of(rs)
            pods.sort()  # available (earliest) first; deleting from the end drops unavailable first
            while len(pods) > want:
                pods.pop()
                if self.grace:
                    self.terminating.append((rs, self.now + self.grace))
            pods.extend([self.now + self.delay] * (want - len(pods)))
            available = sum(1 for t in pods if t <= self.now)
            status = attrs.evolve(
                rs.status,
                replicas=len(pods),
                ready_replicas=available,
                available_replicas=available,
                observed_generation=rs.metadata.generation,
            )
            self.replica_sets[name] = attrs.evolve(rs, status=status)

    def advance(self, seconds: float) -> None:
        """Let time pass, then let the ReplicaSet controllers catch up."""
        self.now += seconds
        self.replica_set_controllers()

    def terminating_pods(self) -> dict[Uid, list[Pod]]:
        """The terminating pods as the Pod cache would show them, by ReplicaSet uid."""
        by_owner: dict[Uid, list[Pod]] = {}
        for pod in self._terminating_pods():
            by_owner.setdefault(pod.metadata.owner_references[0].uid, []).append(pod)
        return by_owner

    def _terminating_pods(self) -> list[Pod]:
        return [
            Pod(
                metadata=ObjectMeta(
                    name=f"{rs.metadata.name}-t{i}",
                    namespace="default",
                    owner_references=(owner_reference_to(rs),),
                    deletion_timestamp=at(self.now),
                ),
                status=PodStatus(phase="Running"),
            )
            for i, (rs, _) in enumerate(self.terminating)
        ]

    # -- observations ----------------------------------------------------------------------

    def total_pods(self) -> int:
        """Pods that exist and are not terminating."""
        return sum(len(p) for p in self.pods.values())

    def available_pods(self) -> int:
        """Pods available now."""
        return sum(1 for p in self.pods.values() for t in p if t <= self.now)

    def new_replica_set(self) -> ReplicaSet | None:
        """The ReplicaSet whose template is the Deployment's."""
        return find_new_replica_set(self.deployment, list(self.replica_sets.values()))


# -- driving helpers -------------------------------------------------------------------


def with_image(d: Deployment, image: str) -> Deployment:
    """``d`` with its template running ``image``."""
    return attrs.evolve(d, spec=attrs.evolve(d.spec, template=template(image)))


def with_spec(d: Deployment, **changes: Any) -> Deployment:
    """``d`` with ``spec`` fields changed."""
    return attrs.evolve(d, spec=attrs.evolve(d.spec, **changes))


def rolled_out(d: Deployment, *, delay: float = 2.0, grace: float = 0.0) -> World:
    """A world where ``d`` has been created and fully rolled out."""
    world = World(deployment=d, delay=delay, grace=grace)
    settle(world)
    return world


def quiet(world: World) -> bool:
    """Nothing to do: no write planned, every pod available, none terminating."""
    return (
        not world.plan().changes
        and world.available_pods() == world.total_pods()
        and not world.terminating
    )


def settle(world: World, *, steps: int = 300) -> None:
    """Sync and advance one second at a time until the world is :func:`quiet`."""
    for _ in range(steps):
        world.sync()
        world.advance(1)
        if quiet(world):
            return
    raise AssertionError("did not settle")
