"""
One sync of a Deployment, decided purely: ``plan(deployment, replica_sets, pods, *, now) -> Plan``.

The order of decisions is ``syncDeployment``'s (``deployment_controller.go``):

1. an empty selector: a ``SelectingAll`` warning, ``observedGeneration`` only;
2. being deleted: status only;
3. the pause or resume is recorded in ``Progressing``;
4. paused, or resized since the ReplicaSets were last scaled: proportional
   scaling (and, when paused, history cleanup), status without progress;
5. otherwise one rollout step of the strategy (Recreate or RollingUpdate),
   history cleanup once complete, status with progress and deadline.

Every branch first finds the new ReplicaSet and syncs revisions
(``getAllReplicaSetsAndSyncRevision``); rollouts create the new ReplicaSet
when it is missing. The plan is applied in order: ReplicaSet writes (each
with its event), the Deployment's revision annotation, the status. Later
steps are decided on the objects as the earlier ones leave them.

*Guarantees*: while pods and time stand still, planning, applying and
planning again reaches an empty plan within a few syncs (one step per sync:
the new ReplicaSet, then the old ones); a paused Deployment gets there in
at most two. Writes that would change nothing are never planned:
no status write for an unchanged status, no annotation-only ReplicaSet write
when its annotations are current.

*Differences from Kubernetes*, all in what is written, not in the rollout:

* one status write per sync: the ``FoundNewReplicaSet`` /
  ``NewReplicaSetCreated`` and pause conditions, which Kubernetes writes
  at once, are folded into the final status;
* the status is computed from the ReplicaSets as this sync's writes leave
  them (Kubernetes uses the objects read before, and corrects the status on
  the next sync);
* available pods of a ReplicaSet count at most ``spec.replicas`` in the
  rolling scale-down (see :mod:`~controllers.deployment.rolling`);
* no deadline requeue once ``NewReplicaSetAvailable`` (it can never time
  out), and a requeue at least one second away;
* the legacy ``deprecated.deployment.rollback.to`` annotation is not read:
  ``kubectl rollout undo`` changes the template, which reuses the old
  ReplicaSet like any template change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

from controllers.api.apps import Deployment, DeploymentStatus, ReplicaSet
from controllers.deployment.actions import Scale
from controllers.deployment.progress import (
    PROGRESSING,
    Reason,
    calculate_status,
    deployment_complete,
    get_condition,
    has_progress_deadline,
    new_condition,
    paused_condition,
    requeue_after,
    rollout_status,
    set_condition,
)
from controllers.deployment.recreate import (
    PodsByOwner,
    old_pods_running,
    scale_down_old_replica_sets_for_recreate,
)
from controllers.deployment.revisions import (
    cleanup_deployment,
    max_revision,
    set_new_replica_set_annotations,
    with_replicas_annotations,
)
from controllers.deployment.rolling import rollout_step
from controllers.deployment.scaling import is_scaling_event, proportional_scale
from controllers.deployment.util import (
    POD_TEMPLATE_HASH,
    REVISION,
    find_new_replica_set,
    find_old_replica_sets,
    is_rolling,
    new_rs_new_replicas,
    pod_template_hash,
    replicas_of,
    spec_replicas,
    with_annotations,
)
from reconcile import ConditionStatus, FrozenDict, LabelSelector, ObjectMeta, owner_reference_to

__all__ = [
    "CreateReplicaSet",
    "DeleteReplicaSet",
    "Note",
    "Plan",
    "UpdateReplicaSet",
    "Write",
    "plan",
]

SCALING_REPLICA_SET = "ScalingReplicaSet"


@attrs.frozen(kw_only=True)
class Note:
    """An event to record on the Deployment."""

    reason: str
    message: str
    warning: bool = False


@attrs.frozen(kw_only=True)
class CreateReplicaSet:
    """Create the new ReplicaSet; on success record ``event``."""

    replica_set: ReplicaSet
    event: Note | None = None


@attrs.frozen(kw_only=True)
class UpdateReplicaSet:
    """Write ``replica_set``'s metadata and spec; on success record ``event``."""

    replica_set: ReplicaSet
    event: Note | None = None


@attrs.frozen(kw_only=True)
class DeleteReplicaSet:
    """Delete an old, empty ReplicaSet (history cleanup)."""

    replica_set: ReplicaSet


Write = CreateReplicaSet | UpdateReplicaSet | DeleteReplicaSet


@attrs.frozen(kw_only=True)
class Plan:
    """
    What one sync does, in order.

    Attributes:
        writes: ReplicaSet writes.
        annotations: The Deployment's new annotations (its revision), or ``None``.
        status: The Deployment's new status, or ``None`` when unchanged.
        events: Events not tied to a write (``SelectingAll``).
        requeue_after: Seconds until the progress deadline must be checked, or ``None``.
    """

    writes: tuple[Write, ...] = ()
    annotations: FrozenDict[str, str] | None = None
    status: DeploymentStatus | None = None
    events: tuple[Note, ...] = ()
    requeue_after: float | None = None

    @property
    def changes(self) -> bool:
        """Whether applying the plan writes anything."""
        return bool(self.writes) or self.annotations is not None or self.status is not None


def scaling_note(scale: Scale) -> Note:
    """The ``ScalingReplicaSet`` event of a size change (Kubernetes' ``from`` wording)."""
    return Note(
        reason=SCALING_REPLICA_SET,
        message=(
            f"Scaled {scale.direction} replica set {scale.name} to {scale.new} from {scale.old}"
        ),
    )


@attrs.define
class _Sync:
    """The working state of one plan: the Deployment and ReplicaSets as the writes leave them."""

    deployment: Deployment
    replica_sets: dict[str, ReplicaSet]
    now: dt.datetime
    original: Deployment = attrs.field(init=False)
    writes: list[Write] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        self.original = self.deployment

    def find(self) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        rss = list(self.replica_sets.values())
        new_rs = find_new_replica_set(self.deployment, rss)
        return new_rs, find_old_replica_sets(new_rs, rss)

    def set_condition(self, reason: str, message: str) -> None:
        condition = new_condition(PROGRESSING, ConditionStatus.TRUE, reason, message, now=self.now)
        d = self.deployment
        self.deployment = attrs.evolve(d, status=set_condition(d.status, condition))

    def set_revision(self, revision: str) -> None:
        d = self.deployment
        meta = with_annotations(d.metadata, {REVISION: revision})
        if meta is not d.metadata:
            self.deployment = attrs.evolve(d, metadata=meta)

    def sync_revision(self, *, create: bool) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        """``getAllReplicaSetsAndSyncRevision``: the new ReplicaSet (synced or made) and the old."""
        new_rs, old_rss = self.find()
        d = self.deployment
        new_revision = max_revision(old_rss) + 1
        if new_rs is not None:
            updated = set_new_replica_set_annotations(d, new_rs, new_revision, exists=True)
            if updated.spec.min_ready_seconds != d.spec.min_ready_seconds:
                spec = attrs.evolve(updated.spec, min_ready_seconds=d.spec.min_ready_seconds)
                updated = attrs.evolve(updated, spec=spec)
            if updated is not new_rs:
                self.put(UpdateReplicaSet(replica_set=updated))
                new_rs = updated
            self.set_revision(new_rs.metadata.annotations.get(REVISION, ""))
            if has_progress_deadline(d) and get_condition(d.status, PROGRESSING) is None:
                name = new_rs.metadata.name
                self.set_condition(Reason.FOUND_NEW_RS, f'Found new replica set "{name}"')
            return new_rs, old_rss
        if not create:
            return None, old_rss
        new_rs = self.new_replica_set(old_rss, new_revision)
        size = replicas_of(new_rs)
        event = None
        if size > 0:
            name = new_rs.metadata.name
            event = Note(
                reason=SCALING_REPLICA_SET, message=f"Scaled up replica set {name} to {size}"
            )
        self.put(CreateReplicaSet(replica_set=new_rs, event=event))
        self.set_revision(str(new_revision))
        if has_progress_deadline(d):
            name = new_rs.metadata.name
            self.set_condition(Reason.NEW_RS_CREATED, f'Created new replica set "{name}"')
        return new_rs, old_rss

    def new_replica_set(self, old_rss: Sequence[ReplicaSet], revision: int) -> ReplicaSet:
        """The new ReplicaSet to create: hashed name and labels, first size, annotations."""
        d = self.deployment
        template = d.spec.template
        hash_ = pod_template_hash(template, d.status.collision_count)
        labels: FrozenDict[str, str] = FrozenDict(
            {**template.metadata.labels, POD_TEMPLATE_HASH: hash_}
        )
        template = attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=labels))
        selector = d.spec.selector or LabelSelector()
        selector = attrs.evolve(
            selector, match_labels={**selector.match_labels, POD_TEMPLATE_HASH: hash_}
        )
        rs = ReplicaSet(
            metadata=ObjectMeta(
                name=f"{d.metadata.name}-{hash_}",
                namespace=d.metadata.namespace,
                labels=labels,
                owner_references=(owner_reference_to(d),),
            ),
            spec=attrs.evolve(
                ReplicaSet().spec,
                replicas=0,
                min_ready_seconds=d.spec.min_ready_seconds,
                selector=selector,
                template=template,
            ),
        )
        size = new_rs_new_replicas(d, [*old_rss, rs], rs)
        rs = attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=size))
        return set_new_replica_set_annotations(d, rs, revision, exists=False)

    def put(self, write: CreateReplicaSet | UpdateReplicaSet) -> None:
        self.writes.append(write)
        self.replica_sets[write.replica_set.metadata.name] = write.replica_set

    def scale(self, scales: Iterable[Scale]) -> None:
        """``scaleReplicaSet`` for each step: size and replicas annotations, event on a resize."""
        for step in scales:
            rs = self.replica_sets[step.name]
            updated = with_replicas_annotations(rs, self.deployment)
            if step.new != replicas_of(rs):
                updated = attrs.evolve(updated, spec=attrs.evolve(updated.spec, replicas=step.new))
            if updated is not rs:
                event = scaling_note(step) if step.new != step.old else None
                self.put(UpdateReplicaSet(replica_set=updated, event=event))

    def cleanup(self, old_rss: Sequence[ReplicaSet]) -> None:
        current = [self.replica_sets[rs.metadata.name] for rs in old_rss]
        for name in cleanup_deployment(self.deployment, current):
            self.writes.append(DeleteReplicaSet(replica_set=self.replica_sets.pop(name)))

    def current(self, rs: ReplicaSet | None) -> ReplicaSet | None:
        return None if rs is None else self.replica_sets.get(rs.metadata.name)

    def all_current(
        self, new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]
    ) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        new = self.current(new_rs)
        olds = [rs for old in old_rss if (rs := self.current(old)) is not None]
        return new, [*olds, *([new] if new is not None else [])]


def plan(
    deployment: Deployment,
    replica_sets: Sequence[ReplicaSet],
    pods: PodsByOwner | None = None,
    *,
    now: dt.datetime,
) -> Plan:
    """
    Decide one sync of ``deployment`` (see the module docstring).

    Args:
        deployment: The Deployment as cached.
        replica_sets: The ReplicaSets it controls (already claimed).
        pods: The pods of those ReplicaSets by ReplicaSet uid; only Recreate
            reads them, and only an old ReplicaSet's (a lazy mapping is fine).
        now: The current time.
    """
    selector = deployment.spec.selector
    if selector is None or selector.is_empty:
        status = deployment.status
        if status.observed_generation < deployment.metadata.generation:
            status = attrs.evolve(status, observed_generation=deployment.metadata.generation)
        note = Note(
            reason="SelectingAll",
            message="This deployment is selecting all pods. A non-empty selector is required.",
            warning=True,
        )
        return Plan(status=_changed(deployment.status, status), events=(note,))
    sync = _Sync(deployment, {rs.metadata.name: rs for rs in replica_sets}, now)
    if deployment.metadata.deletion_timestamp is not None:
        return _scaling_sync(sync, proportional=False)
    d = sync.deployment = attrs.evolve(deployment, status=paused_condition(deployment, now=now))
    if d.spec.paused or is_scaling_event(d, replica_sets):
        return _scaling_sync(sync, proportional=True)
    if is_rolling(d):
        return _rolling_sync(sync)
    return _recreate_sync(sync, pods or {})


def _changed(old: DeploymentStatus, new: DeploymentStatus) -> DeploymentStatus | None:
    return None if new == old else new


def _result(sync: _Sync, base: Deployment, status: DeploymentStatus, *, requeue: bool) -> Plan:
    annotations = sync.deployment.metadata.annotations
    return Plan(
        writes=tuple(sync.writes),
        annotations=None if annotations == base.metadata.annotations else annotations,
        status=_changed(base.status, status),
        requeue_after=requeue_after(sync.deployment, status, now=sync.now) if requeue else None,
    )


def _scaling_sync(sync: _Sync, *, proportional: bool) -> Plan:
    """``sync`` (paused or resized) and ``syncStatusOnly`` (being deleted): no progress estimate."""
    base = sync.original
    new_rs, old_rss = sync.sync_revision(create=False)
    if proportional:
        sync.scale(proportional_scale(sync.deployment, new_rs, old_rss))
        if sync.deployment.spec.paused:
            sync.cleanup(old_rss)
    new_rs, all_rss = sync.all_current(new_rs, old_rss)
    status = calculate_status(sync.deployment, all_rss, new_rs, now=sync.now)
    return _result(sync, base, status, requeue=False)


def _rolling_sync(sync: _Sync) -> Plan:
    """``rolloutRolling``: create if missing, then one step (new first), cleanup when complete."""
    base = sync.original
    new_rs, old_rss = sync.sync_revision(create=True)
    assert new_rs is not None  # created when missing
    steps = rollout_step(sync.deployment, new_rs, old_rss)
    sync.scale(steps)
    if not steps and deployment_complete(sync.deployment, sync.deployment.status):
        sync.cleanup(old_rss)
    new_rs, all_rss = sync.all_current(new_rs, old_rss)
    status = rollout_status(sync.deployment, all_rss, new_rs, now=sync.now)
    return _result(sync, base, status, requeue=True)


def _recreate_sync(sync: _Sync, pods: PodsByOwner) -> Plan:
    """``rolloutRecreate``: olds to zero, wait for their pods, then the new one at full size."""
    base = sync.original
    new_rs, old_rss = sync.sync_revision(create=False)
    down = scale_down_old_replica_sets_for_recreate(old_rss)
    if not down and not old_pods_running(new_rs, old_rss, pods):
        if new_rs is None:
            new_rs, old_rss = sync.sync_revision(create=True)
            assert new_rs is not None
        if replicas_of(new_rs) != spec_replicas(sync.deployment):
            sync.scale([Scale.of(new_rs, spec_replicas(sync.deployment))])
        if deployment_complete(sync.deployment, sync.deployment.status):
            sync.cleanup(old_rss)
    sync.scale(down)
    current_new, all_rss = sync.all_current(new_rs, old_rss)
    status = rollout_status(sync.deployment, all_rss, current_new, now=sync.now)
    return _result(sync, base, status, requeue=True)
