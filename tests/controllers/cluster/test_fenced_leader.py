"""
A kube-controller-manager paused mid-scale, a standby that takes over, and the fence between them.

Runs ``Cluster(leader_election=True)`` with a standby controller manager. The
leader is paused (``Cluster.freeze``) right after it created the first pod of a
scale-up, so the rest of its plan is still to be sent when it resumes 30 s
later, believing it leads.
"""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import reconcile
from controllers import Cluster, run
from controllers.api.apps import Deployment
from controllers.api.core import Pod
from reconcile.testing import plant

KCM = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
"""


@attrs.frozen(kw_only=True)
class Story:
    """What a run of :func:`_pause_leader_during_scale` observed."""

    paused_after_pods: int
    leader_while_paused: str | None
    fenced_writes: int
    stale_writes: int
    most_pods: int
    pods: int
    ready: int
    leader: str | None


def _live_pods(cluster: Cluster) -> int:
    pods = cluster.api.list_nowait(Pod, namespace="default", labels="app=web").items
    return sum(1 for p in pods if p.metadata.deletion_timestamp is None)


async def _pause_leader_during_scale(cluster: Cluster) -> Story:
    """Scale ``web`` 3 -> 6; pause the leading controller manager after its first new pod."""
    standby = await cluster.start_standby(KCM)
    await cluster.apply(DEPLOYMENT)
    await cluster.settle()
    assert KCM == cluster.leader(KCM)
    counts = {"most": _live_pods(cluster), "paused_after": 0}

    def observe(event: reconcile.WatchEvent[reconcile.Resource]) -> None:
        if not isinstance(event.object, Pod):
            return
        live = _live_pods(cluster)
        counts["most"] = max(counts["most"], live)
        leading = cluster.leader(KCM) == KCM
        if event.type is reconcile.EventType.ADDED and leading and not counts["paused_after"]:
            cluster.freeze(KCM)  # a long pause in the middle of the scale-up
            counts["paused_after"] = live

    cluster.api.on_commit.append(observe)
    await cluster.scale("deployment", "web", 6)
    await cluster.advance(30)
    while_paused = cluster.leader(KCM)
    cluster.thaw(KCM)
    await cluster.advance(10)
    await cluster.settle()
    cluster.api.on_commit.remove(observe)
    deployment = cluster.api.get_nowait(Deployment, "web", namespace="default")
    assert standby == cluster.leader(KCM)
    return Story(
        paused_after_pods=counts["paused_after"],
        leader_while_paused=while_paused,
        fenced_writes=cluster.elector(KCM).statistics().fenced_writes,
        stale_writes=len(cluster.stale_leader_writes()),
        most_pods=counts["most"],
        pods=_live_pods(cluster),
        ready=deployment.status.ready_replicas,
        leader=cluster.leader(KCM),
    )


def _run(*, fencing: bool) -> Story:
    async def main() -> Story:
        async with Cluster(nodes=3, seed=5, leader_election=True) as cluster:
            if fencing:
                return await _pause_leader_during_scale(cluster)
            with plant("leaderelection.no-fencing"):
                return await _pause_leader_during_scale(cluster)

    return run(main)


def test_paused_controller_manager_is_fenced_and_the_standby_converges() -> None:
    """The standby finishes the scale; the resumed leader's held writes are all refused."""
    story = _run(fencing=True)
    assert 4 == story.paused_after_pods
    assert "kube-controller-manager-2" == story.leader_while_paused
    assert 2 <= story.fenced_writes
    assert 0 == story.stale_writes
    assert 6 == story.most_pods  # never more than wanted, let alone replicas + maxSurge (8)
    assert (6, 6) == (story.pods, story.ready)
    assert "kube-controller-manager-2" == story.leader


def test_without_fencing_the_resumed_leader_creates_pods_the_standby_must_delete() -> None:
    """With the fence off, the deposed leader's held pod creations land and are undone."""
    story = _run(fencing=False)
    assert 0 == story.fenced_writes
    assert 2 <= story.stale_writes
    assert _run(fencing=True).fenced_writes == story.stale_writes  # the very writes refused
    assert 6 < story.most_pods
    assert (6, 6) == (story.pods, story.ready)


def test_leader_election_names_leases_and_identities_like_kubernetes() -> None:
    """Each elected component holds a Lease named after it in kube-system, as ``<name>-1``."""

    async def main() -> tuple[list[tuple[str, str | None]], str | None]:
        async with Cluster(nodes=1, leader_election=True) as cluster:
            leases = cluster.api.list_nowait(reconcile.Lease, namespace="kube-system").items
            held = sorted((le.metadata.name, le.spec.holder_identity) for le in leases)
            return held, cluster.leader(SCHEDULER)

    held, scheduler = run(main)
    assert [(KCM, f"{KCM}-1"), (SCHEDULER, f"{SCHEDULER}-1")] == held
    assert SCHEDULER == scheduler


def test_restarting_the_leader_keeps_one_leader_and_the_cluster_working() -> None:
    """A restarted leader releases the Lease; one instance leads afterwards and controllers work."""

    async def main() -> tuple[int, int, int]:
        async with Cluster(nodes=1, leader_election=True) as cluster:
            await cluster.start_standby(KCM)
            stopped = cluster.elector(KCM)  # the restarted process gets a new elector
            await cluster.restart_controller(KCM)
            await cluster.advance(3)  # the standby retries every 2 s
            leaders = sum(cluster.elector(i).is_leader for i in (KCM, f"{KCM}-2"))
            await cluster.apply(DEPLOYMENT)
            await cluster.settle()
            return stopped.statistics().releases, leaders, _live_pods(cluster)

    releases, leaders, pods = run(main)
    assert (1, 1, 3) == (releases, leaders, pods)


def test_settle_ignores_a_paused_component() -> None:
    """A frozen component cannot hold ``settle()`` up: it does nothing until thawed."""

    async def main() -> float:
        async with Cluster(nodes=1, leader_election=True) as cluster:
            cluster.freeze(KCM)
            await cluster.apply(DEPLOYMENT)
            took = await cluster.settle()
            cluster.thaw(KCM)
            return took

    assert 30 >= run(main)


def test_standby_needs_leader_election() -> None:
    """Asking for a standby of a cluster without leader election says what is missing."""

    async def main() -> str:
        async with Cluster(nodes=1) as cluster:
            try:
                await cluster.start_standby(KCM)
            except RuntimeError as exc:
                return str(exc)
        return ""

    assert "start_standby(): the cluster runs without leader_election=True" == run(main)


# -- properties over random pause and skew schedules of both controller managers -------------

STANDBY = f"{KCM}-2"
INSTANCE = st.sampled_from([KCM, STANDBY])
STEP = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([1.0, 5.0, 11.0, 17.0])),
    st.tuples(st.just("freeze"), INSTANCE),
    st.tuples(st.just("thaw"), INSTANCE),
    st.tuples(st.just("skew"), INSTANCE, st.sampled_from([-10.0, -3.0, 3.0, 10.0])),
    st.tuples(st.just("scale"), st.integers(min_value=0, max_value=6)),
    # Scale, and pause the leading instance right after it commits its next pod change.
    st.tuples(st.just("scale-and-pause"), st.integers(min_value=0, max_value=6)),
)


async def _schedule(cluster: Cluster, steps: list[tuple[object, ...]]) -> tuple[int, int, int]:
    """Run ``steps``, heal every clock, settle; return (replicas, most live pods, most asked)."""
    await cluster.start_standby(KCM)
    await cluster.apply(DEPLOYMENT)
    await cluster.settle()
    replicas = most_asked = 3
    most = {"pods": _live_pods(cluster)}
    pause_next: list[str] = []

    def observe(event: reconcile.WatchEvent[reconcile.Resource]) -> None:
        if isinstance(event.object, Pod):
            most["pods"] = max(most["pods"], _live_pods(cluster))
            leader = cluster.leader(KCM)
            if pause_next and leader is not None and not cluster.component_clock(leader).frozen:
                pause_next.clear()
                cluster.freeze(leader)

    cluster.api.on_commit.append(observe)
    for step in steps:
        match step:
            case ("advance", float(seconds)):
                await cluster.advance(seconds)
            case ("freeze", str(who)) if not cluster.component_clock(who).frozen:
                cluster.freeze(who)
            case ("thaw", str(who)) if cluster.component_clock(who).frozen:
                cluster.thaw(who)
            case ("skew", str(who), float(offset)):
                cluster.skew(who, offset)
            case ("scale" | "scale-and-pause" as verb, int(n)):
                pause_next[:] = ["leader"] if verb == "scale-and-pause" else []
                await cluster.scale("deployment", "web", n)
                replicas, most_asked = n, max(most_asked, n)
    pause_next.clear()
    for who in (KCM, STANDBY):
        if cluster.component_clock(who).frozen:
            cluster.thaw(who)
        cluster.skew(who, 0)
    await cluster.advance(20)  # a lease left by a paused leader expires
    await cluster.settle()
    cluster.api.on_commit.remove(observe)
    return replicas, most["pods"], most_asked


# Paused past its lease, resumed after a scale it never saw: sharp without the fence.
SHARP: list[tuple[object, ...]] = [("freeze", KCM), ("advance", 17.0), ("scale", 0)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=8), seed=st.integers(min_value=0, max_value=3))
@example(steps=SHARP, seed=0)
def test_controller_managers_under_pauses_and_skew_never_write_stale(
    steps: list[tuple[object, ...]], seed: int
) -> None:
    """Whatever pauses and skews hit both instances: no stale write lands, and it converges."""

    async def main() -> tuple[int, int, int, int, tuple[object, ...], int]:
        async with Cluster(nodes=2, seed=seed, events=False, leader_election=True) as cluster:
            replicas, most, asked = await _schedule(cluster, steps)
            deployment = cluster.api.get_nowait(Deployment, "web", namespace="default")
            leaders = sum(cluster.elector(i).is_leader for i in (KCM, STANDBY))
            return (replicas, most, asked, deployment.status.available_replicas,
                    cluster.stale_leader_writes(), leaders)  # fmt: skip

    replicas, most, asked, available, stale, leaders = run(main)
    assert () == stale
    assert 1 == leaders
    assert replicas == available
    assert most <= asked  # scaling alone never needs a pod beyond the most replicas asked


def test_the_stale_write_property_detects_unfenced_writes() -> None:
    """Without the fence, the resumed leader of the sharp schedule writes under another's lease."""

    async def main() -> list[tuple[str, str | None]]:
        async with Cluster(nodes=2, seed=0, events=False, leader_election=True) as cluster:
            await _schedule(cluster, SHARP)
            return [(w.writer, w.holder) for w in cluster.stale_leader_writes()]

    with plant("leaderelection.no-fencing"):
        stale = run(main)
    assert {(KCM, "kube-controller-manager-2")} == set(stale)
