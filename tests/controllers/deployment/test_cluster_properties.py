"""
Rollout properties over the real embedded cluster (all controllers, simulated kubelets).

Hypothesis draws a Deployment (replicas, maxSurge, maxUnavailable,
minReadySeconds, a pod start delay) and a short story of user actions taken
mid-rollout (new versions that are healthy, never ready or crashing, scale,
pause, resume, undo) with simulated waits between them. A watch on Pods and
ReplicaSets checks the rollout bounds after every event, against the
Deployment's spec as stored at that moment; then the story ends with a
healthy version and the rollout must converge.

Versions are images ``app:v1`` .. ``app:v4``; how a version behaves is the
pod template's script annotation (``docs/container-scripts.md``), so a
"version" is written as one template change (image + annotation), and
``rollout undo`` brings back both.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import controllers
import reconcile
from controllers import kubectl
from controllers.api.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    DeploymentStrategyType,
    ReplicaSet,
    RollingUpdateDeployment,
)
from controllers.api.common import IntOrString
from controllers.api.core import Container, HTTPGetAction, Pod, PodSpec, PodTemplateSpec, Probe
from controllers.deployment import max_surge, max_unavailable
from controllers.deployment.progress import PROGRESSING, Reason, get_condition
from controllers.deployment.util import DESIRED_REPLICAS, REVISION, replicas_of, spec_replicas
from controllers.kubelet.script import SCRIPT_ANNOTATION_PREFIX
from controllers.verify.safety import active, available

NAME = "web"
NAMESPACE = "default"
CONTAINER = "app"
LABELS: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({"app": NAME})
HISTORY_LIMIT = 2
SCRIPT = f"{SCRIPT_ANNOTATION_PREFIX}{CONTAINER}"
# Readiness is probed every second and one failure makes the pod unready, so
# a script's readiness windows show within about a second.
READINESS = Probe(http_get=HTTPGetAction(port=8080), period_seconds=1, failure_threshold=1)


class Behaviour(enum.Enum):
    """How a version's containers behave (as a script annotation)."""

    HEALTHY = "healthy"
    NEVER_READY = "never-ready"  # readiness fails forever: never available
    CRASHING = "crashing"  # ready for 2 s after starting, then exits 1: CrashLoopBackOff


def script(behaviour: Behaviour, delay: int) -> str:
    """The container script of ``behaviour`` for pods starting ``delay`` seconds late."""
    clauses = [f"start={delay}s"] if delay else []
    if behaviour is Behaviour.NEVER_READY:
        clauses.append("unready=..")
    elif behaviour is Behaviour.CRASHING:
        clauses.append(f"crash@{delay + 2}s")
    return "; ".join(clauses)


def template(version: str, behaviour: Behaviour, delay: int) -> PodTemplateSpec:
    """Pods of image ``app:<version>`` behaving as ``behaviour``."""
    return PodTemplateSpec(
        metadata=reconcile.ObjectMeta(
            labels=LABELS, annotations=reconcile.FrozenDict({SCRIPT: script(behaviour, delay)})
        ),
        spec=PodSpec(
            containers=(
                Container(name=CONTAINER, image=f"app:{version}", readiness_probe=READINESS),
            )
        ),
    )


def crashing(pod: Pod) -> bool:
    """Whether ``pod`` runs a crashing version."""
    return "crash@" in pod.metadata.annotations.get(SCRIPT, "")


def owner_of(pod: Pod) -> str:
    """The uid of the pod's controller (its ReplicaSet), ``""`` for none."""
    return next((ref.uid for ref in pod.metadata.owner_references if ref.controller), "")


def deployment(
    replicas: int,
    surge: IntOrString,
    unavailable: IntOrString,
    min_ready: int,
    delay: int,
    *,
    deadline: int | None = None,
) -> Deployment:
    """Deployment ``web`` of healthy ``app:v1`` keeping ``HISTORY_LIMIT`` old ReplicaSets."""
    return Deployment(
        metadata=reconcile.ObjectMeta(name=NAME, namespace=NAMESPACE),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=reconcile.LabelSelector(match_labels=LABELS),
            template=template("v1", Behaviour.HEALTHY, delay),
            strategy=DeploymentStrategy(
                type=DeploymentStrategyType.ROLLING_UPDATE,
                rolling_update=RollingUpdateDeployment(
                    max_surge=surge, max_unavailable=unavailable
                ),
            ),
            min_ready_seconds=min_ready,
            revision_history_limit=HISTORY_LIMIT,
            progress_deadline_seconds=deadline,
        ),
    )


async def set_version(
    cluster: controllers.Cluster, version: str, behaviour: Behaviour, delay: int
) -> Deployment:
    """Roll out a version: one write of the template (image and script), retried on conflict."""
    for _ in range(5):
        current = await cluster.api.get(Deployment, NAME, namespace=NAMESPACE)
        spec = attrs.evolve(current.spec, template=template(version, behaviour, delay))
        try:
            return await cluster.api.update(attrs.evolve(current, spec=spec))
        except reconcile.ConflictError:
            continue
    raise AssertionError("set_version kept conflicting")


class Invariants:
    """
    The rollout bounds, checked after every Pod and ReplicaSet watch event.

    Bounds come from the Deployment as stored at check time (``R`` =
    spec.replicas, surge and unavailable resolved by the controller's own
    helpers):

    1. ``Σ spec.replicas`` of the ReplicaSets ``<= R + maxSurge``;
    2. available pods ``>= R - maxUnavailable`` once that was reached.

    Exemptions (what Kubernetes does not guarantee), each opened by the test
    *before* the write that causes it, since this checker reads the newest
    spec while it may still be working through older events:

    * a user scale (:meth:`scaling`): the ReplicaSets are resized for the
      old count until the controller's next sync (§3 step 8, proportional
      scaling §4.3). Scaling down lowers the surge ceiling at once and removes
      pods without regard to availability; scaling up raises the floor before
      new pods can start. Paused or not, that sync is one proportional
      scaling. (1) resumes once the controller has observed the scale
      (``observedGeneration``) and the sum is back under the ceiling; (2) once
      it has observed it, every ReplicaSet has exactly its pods and the floor
      is reached again.
    * a scale-down of a ReplicaSet whose ``status.availableReplicas`` undercounts its
      available pods: the controller only knows availability from ReplicaSet
      statuses (§4.2 ``cleanupUnhealthyReplicas`` and the scale-down budget),
      and the ReplicaSet controller updates them after the fact (a pod becomes
      available when ``minReadySeconds`` pass; its ReplicaSet notices at its
      next sync). Kubernetes has the same lag, so a replica it takes for
      unhealthy may be an available pod: e.g. a template change while the
      previous rollout is incomplete lets ``cleanupUnhealthyReplicas`` remove
      it. (2) resumes once the floor is reached again with every ReplicaSet
      caught up.
    * a ReplicaSet deleting an available pod while it keeps one that is ready
      but not yet available: its deletion order (``ActivePodsWithRanks``,
      mirrored by :mod:`controllers.replicaset.ranking`) knows readiness,
      node co-location and ready time, not ``minReadySeconds``, and
      co-location comes first. The Deployment controller's budget counted the
      pods that stay as available, so Kubernetes breaks the floor here too
      (only with ``minReadySeconds > 0``: otherwise not-ready pods go first).
    * a crashing version: its pods become available, then crash on their own;
      no controller prevents that (availability is judged at sync time). (2)
      is not asserted while any active pod of a crashing version exists, and
      resumes once the floor is reached again after they are gone.
    """

    def __init__(self, cluster: controllers.Cluster, min_ready: int) -> None:
        self.cluster, self.min_ready = cluster, min_ready
        self.pods: dict[str, Pod] = {}
        self.replica_sets: dict[str, ReplicaSet] = {}
        self.armed = False  # (2) holds from here on
        self.over_ceiling_allowed = False  # (1) exempt
        self.scale_generation = 0  # generation of the last user scale
        self.violations: list[str] = []
        self.events = 0
        self.max_sum = 0

    def scaling(self) -> None:
        """A user scale is about to be written: open both exemptions."""
        self.armed = False
        self.over_ceiling_allowed = True
        self.scale_generation = 1 << 62  # until the write's generation is known

    def scaled(self, stored: Deployment) -> None:
        """The scale was stored with this generation."""
        self.scale_generation = stored.metadata.generation

    def pod(self, kind: reconcile.EventType, pod: Pod) -> None:
        before = self.pods.get(pod.metadata.uid)
        if before is not None and active(before) and pod.metadata.deletion_timestamp is not None:
            now = self.cluster.clock.now()
            owner = owner_of(pod)
            if available(before, self.min_ready, now) and any(
                owner_of(p) == owner and active(p) and not available(p, self.min_ready, now)
                for p in self.pods.values()
                if p.metadata.uid != pod.metadata.uid
            ):
                self.armed = False  # deleted an available pod, kept an unavailable one: see above
        if kind is reconcile.EventType.DELETED:
            self.pods.pop(pod.metadata.uid, None)
        else:
            self.pods[pod.metadata.uid] = pod
        self.check()

    def replica_set(self, kind: reconcile.EventType, rs: ReplicaSet) -> None:
        before = self.replica_sets.get(rs.metadata.name)
        if before is not None and replicas_of(rs) < replicas_of(before):
            now = self.cluster.clock.now()
            actual = sum(
                available(p, self.min_ready, now)
                for p in self.pods.values()
                if any(ref.uid == rs.metadata.uid for ref in p.metadata.owner_references)
            )
            if actual > rs.status.available_replicas:
                self.armed = False  # scaled down on a status that undercounts: see the class
        if kind is reconcile.EventType.DELETED:
            self.replica_sets.pop(rs.metadata.name, None)
        else:
            self.replica_sets[rs.metadata.name] = rs
        self.check()

    def _caught_up(self, d: Deployment) -> bool:
        """
        The controllers have caught up with the last user scale.

        The Deployment controller observed it, and every ReplicaSet's controller
        observed its latest spec and has exactly that many active pods (the
        count alone can match by chance while deletions for an older spec are
        still to come: scale 3 → 1 → 3).
        """
        if d.status.observed_generation < self.scale_generation:
            return False
        owned: dict[str, int] = dict.fromkeys(self.replica_sets, 0)
        for pod in self.pods.values():
            if active(pod):
                for ref in pod.metadata.owner_references:
                    if ref.name in owned:
                        owned[ref.name] += 1
        return all(
            owned[n] == replicas_of(rs) and rs.status.observed_generation >= rs.metadata.generation
            for n, rs in self.replica_sets.items()
        )

    def check(self) -> None:
        d = self.cluster.api.get_nowait(Deployment, NAME, namespace=NAMESPACE)
        now = self.cluster.clock.now()
        self.events += 1
        replicas = spec_replicas(d)
        ceiling = replicas + max_surge(d)
        floor = replicas - max_unavailable(d)
        total = sum(replicas_of(rs) for rs in self.replica_sets.values())
        self.max_sum = max(self.max_sum, total)
        where = f"t={self.cluster.clock.time():.2f} event {self.events}"
        if self.over_ceiling_allowed:
            observed = d.status.observed_generation >= self.scale_generation
            if observed and total <= ceiling:
                self.over_ceiling_allowed = False
        elif total > ceiling:
            self.violations.append(f"{where}: replica sets sum to {total} > {ceiling}")
        if any(crashing(p) for p in self.pods.values() if active(p)):
            self.armed = False
            return
        count = sum(available(p, self.min_ready, now) for p in self.pods.values())
        if self.armed:
            if count < floor:
                self.violations.append(f"{where}: {count} available < {floor}")
        elif count >= floor and self._caught_up(d):
            self.armed = True


async def follow(
    cluster: controllers.Cluster,
    kind: type[Any],
    since: reconcile.ResourceVersion,
    apply: Callable[[reconcile.EventType, Any], None],
) -> None:
    """Feed every watch event of ``kind`` in the namespace to ``apply``."""
    async for event in cluster.api.watch(kind, namespace=NAMESPACE, since=since):
        if event.type is not reconcile.EventType.BOOKMARK:
            apply(event.type, event.object)


# -- strategies --------------------------------------------------------------------------------

bounds: st.SearchStrategy[IntOrString] = st.integers(0, 3) | st.sampled_from(
    ["0%", "25%", "50%", "100%"]
)
versions = st.sampled_from(["v1", "v2", "v3", "v4"])
actions = st.one_of(
    st.tuples(st.just("image"), versions, st.sampled_from(list(Behaviour))),
    st.tuples(st.just("scale"), st.integers(1, 6)),
    st.tuples(st.sampled_from(["pause", "resume", "undo"])),
)
waits = st.integers(0, 12).map(lambda half_seconds: half_seconds / 2)


def valid(surge: IntOrString, unavailable: IntOrString) -> bool:
    """API validation refuses maxSurge and maxUnavailable both (literally) zero."""
    return not (surge in (0, "0%") and unavailable in (0, "0%"))


async def act(
    cluster: controllers.Cluster, checker: Invariants, action: tuple[Any, ...], delay: int
) -> None:
    """Take one user action the way kubectl would (errors kubectl prints are ignored)."""
    match action:
        case ("image", str(version), Behaviour() as behaviour):
            await set_version(cluster, version, behaviour, delay)
        case ("scale", int(replicas)):
            checker.scaling()
            checker.scaled(await cluster.scale("deployment", NAME, replicas))
        case ("pause",):
            with contextlib.suppress(kubectl.KubectlError):  # already paused
                await cluster.rollout_pause(NAME)
        case ("resume",):
            with contextlib.suppress(kubectl.KubectlError):  # not paused
                await cluster.rollout_resume(NAME)
        case ("undo",):
            if len(cluster.rollout_history(NAME)) >= 2:
                with contextlib.suppress(kubectl.KubectlError):  # paused: kubectl refuses
                    await cluster.rollout_undo(NAME)
        case _:  # pragma: no cover
            raise AssertionError(action)


def stale_desired_replicas_deadlock(cluster: controllers.Cluster) -> bool:
    """
    Whether the Deployment is stuck in Kubernetes' stale ``desired-replicas`` deadlock.

    One active ReplicaSet already of ``spec.replicas`` pods but annotated with
    another desired count: every sync takes it for a scaling event (§3 step
    8), and ``scale`` returns early because the size already matches, without
    refreshing the annotation, so no rollout step ever runs. Upstream has the
    same bug (kubernetes/kubernetes#138036, #138840, both open); ours is fixed, see
    :func:`test_scale_matching_the_only_active_replica_set_does_not_block_the_next_rollout`.
    """
    d = cluster.api.get_nowait(Deployment, NAME, namespace=NAMESPACE)
    rss = cluster.api.list_nowait(ReplicaSet, namespace=NAMESPACE).items
    active_rss = [rs for rs in rss if replicas_of(rs) > 0]
    return (
        len(active_rss) == 1
        and replicas_of(active_rss[0]) == spec_replicas(d)
        and active_rss[0].metadata.annotations.get(DESIRED_REPLICAS) != str(spec_replicas(d))
    )


def assert_converged(cluster: controllers.Cluster, replicas: int, min_ready: int) -> None:
    """Exactly ``replicas`` available pods of ``app:v9``; revisions distinct, newest last."""
    now = cluster.clock.now()
    d = cluster.api.get_nowait(Deployment, NAME, namespace=NAMESPACE)
    pods = [p for p in cluster.api.list_nowait(Pod, namespace=NAMESPACE).items if active(p)]
    assert replicas == len(pods), [p.metadata.name for p in pods]
    assert {"app:v9"} == {p.spec.containers[0].image for p in pods}
    assert all(available(p, min_ready, now) for p in pods)
    rss = cluster.api.list_nowait(ReplicaSet, namespace=NAMESPACE).items
    revisions = {rs.metadata.name: int(rs.metadata.annotations[REVISION]) for rs in rss}
    assert len(set(revisions.values())) == len(revisions), revisions
    (new,) = (rs for rs in rss if rs.spec.template.spec.containers[0].image == "app:v9")
    assert revisions[new.metadata.name] == max(revisions.values()), revisions
    assert replicas == replicas_of(new)
    olds = [rs for rs in rss if rs is not new]
    assert all(0 == replicas_of(rs) for rs in olds)
    assert len(olds) <= HISTORY_LIMIT, revisions
    assert d.metadata.annotations[REVISION] == str(revisions[new.metadata.name])
    assert cluster.rollout_status(NAME).done


@settings(max_examples=25, deadline=None)
@given(
    replicas=st.integers(1, 6),
    surge=bounds,
    unavailable=bounds,
    min_ready=st.integers(0, 3),
    delay=st.integers(0, 3),
    story=st.lists(st.tuples(actions, waits), min_size=1, max_size=5),
    first_wait=waits,
)
def test_rollouts_keep_bounds_and_converge_under_random_user_actions(
    *,
    replicas: int,
    surge: IntOrString,
    unavailable: IntOrString,
    min_ready: int,
    delay: int,
    story: list[tuple[tuple[Any, ...], float]],
    first_wait: float,
) -> None:
    """
    After every Pod/ReplicaSet event: ReplicaSets sum to ≤ replicas + maxSurge and
    ≥ replicas - maxUnavailable pods are available (exemptions: :class:`Invariants`).
    After the story, resuming and rolling out a healthy ``app:v9`` converges:
    exactly ``replicas`` available pods of v9, the new ReplicaSet holds the
    highest (distinct) revision, at most ``revisionHistoryLimit`` old
    ReplicaSets remain and ``rollout status`` reports done.
    """
    assume(valid(surge, unavailable))

    async def main() -> None:
        async with controllers.Cluster(nodes=3, seed=11, events=False) as cluster:
            checker = Invariants(cluster, min_ready)
            since = cluster.api.resource_version
            async with asyncio.TaskGroup() as tasks:
                watches = [
                    tasks.create_task(follow(cluster, Pod, since, checker.pod)),
                    tasks.create_task(follow(cluster, ReplicaSet, since, checker.replica_set)),
                ]
                await cluster.api.create(deployment(replicas, surge, unavailable, min_ready, delay))
                await cluster.advance(first_wait)
                for action, wait in story:
                    await act(cluster, checker, action, delay)
                    await cluster.advance(wait)
                final = cluster.api.get_nowait(Deployment, NAME, namespace=NAMESPACE)
                if final.spec.paused:
                    await cluster.rollout_resume(NAME)
                await set_version(cluster, "v9", Behaviour.HEALTHY, delay)
                await cluster.settle()
                await cluster.advance(min_ready + 1)
                await cluster.settle()
                for watch in watches:
                    watch.cancel()
            assert not checker.violations, checker.violations[:5]
            assert not stale_desired_replicas_deadlock(cluster)
            assert checker.armed, "availability was never (re)reached"
            assert_converged(cluster, spec_replicas(final), min_ready)

    controllers.run(main())


@settings(max_examples=25, deadline=None)
@given(
    replicas=st.integers(1, 6),
    surge=bounds,
    unavailable=bounds,
    min_ready=st.integers(0, 3),
    delay=st.integers(0, 3),
    deadline=st.integers(10, 30),
)
def test_never_ready_version_stops_within_bounds_and_reports_deadline_exceeded(
    *,
    replicas: int,
    surge: IntOrString,
    unavailable: IntOrString,
    min_ready: int,
    delay: int,
    deadline: int,
) -> None:
    """
    Rolling out a version that is never ready keeps both bounds (no exemption applies)
    and leaves ≥ replicas - maxUnavailable available; Progressing turns False with
    ProgressDeadlineExceeded only after ``lastUpdateTime + progressDeadlineSeconds``
    (strictly), and no later than a second after it.
    """
    assume(valid(surge, unavailable))

    async def main() -> None:
        async with controllers.Cluster(nodes=3, seed=11, events=False) as cluster:
            spec = deployment(replicas, surge, unavailable, min_ready, delay, deadline=deadline)
            await cluster.api.create(spec)
            await cluster.settle()
            await cluster.advance(min_ready + 1)
            checker = Invariants(cluster, min_ready)
            progress: list[tuple[float, Any]] = []

            def seen(_: reconcile.EventType, d: Deployment) -> None:
                c = get_condition(d.status, PROGRESSING)
                if c is not None and (not progress or progress[-1][1] != c):
                    progress.append((cluster.clock.time(), c))

            since = cluster.api.resource_version
            for pod in cluster.api.list_nowait(Pod, namespace=NAMESPACE).items:
                checker.pods[pod.metadata.uid] = pod
            for rs in cluster.api.list_nowait(ReplicaSet, namespace=NAMESPACE).items:
                checker.replica_sets[rs.metadata.name] = rs
            checker.check()
            assert checker.armed
            async with asyncio.TaskGroup() as tasks:
                watches = [
                    tasks.create_task(follow(cluster, Pod, since, checker.pod)),
                    tasks.create_task(follow(cluster, ReplicaSet, since, checker.replica_set)),
                    tasks.create_task(follow(cluster, Deployment, since, seen)),
                ]
                await set_version(cluster, "v2", Behaviour.NEVER_READY, delay)
                await cluster.advance(deadline + 15)
                for watch in watches:
                    watch.cancel()
            assert not checker.violations, checker.violations[:5]
            assert cluster.rollout_status(NAME).failed
            timed_out = [i for i, (_, c) in enumerate(progress) if c.reason == Reason.TIMED_OUT]
            assert timed_out, progress
            first = timed_out[0]
            assert first > 0
            when, condition = progress[first]
            assert "False" == condition.status.value
            before = progress[first - 1][1]
            assert all(c.status.value != "False" for _, c in progress[:first])
            started = before.last_update_time
            assert started is not None
            limit = started + dt.timedelta(seconds=deadline)
            reported = cluster.clock.now() - dt.timedelta(seconds=cluster.clock.time() - when)
            assert limit < reported <= limit + dt.timedelta(seconds=1), (limit, reported)

    controllers.run(main())


def test_scale_matching_the_only_active_replica_set_does_not_block_the_next_rollout() -> None:
    """
    Found by the property test above (all at t=0, maxSurge 0, maxUnavailable 1).

    2 replicas of v1; a never-ready v2 starts rolling out, so the still-pending v1
    ReplicaSet is cleaned up to 1 replica (annotated desired-replicas=2) before v2
    grows; the user scales to 1, which that ReplicaSet already has; then sets v9.
    As in Kubernetes (kubernetes/kubernetes#138036), the stale annotation used to
    keep every sync a "scaling event" and the v9 ReplicaSet was never created;
    proportional scaling now rewrites the annotation.
    """

    async def main() -> None:
        async with controllers.Cluster(nodes=3, seed=11, events=False) as cluster:
            await cluster.api.create(deployment(2, 0, 1, 0, 0))
            await cluster.advance(0)
            await set_version(cluster, "v2", Behaviour.NEVER_READY, 0)
            await cluster.advance(0)
            await cluster.scale("deployment", NAME, 1)
            await cluster.advance(0)
            await set_version(cluster, "v9", Behaviour.HEALTHY, 0)
            await cluster.settle()
            await cluster.advance(60)
            assert cluster.rollout_status(NAME).done, cluster.rollout_status(NAME).message

    controllers.run(main())
