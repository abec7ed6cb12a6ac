"""
Profiles: which steps a run draws from, as hypothesis strategies.

``everything`` draws every user action and every fault; the focused profiles
draw the actions and faults of one area (rollouts, ReplicaSets, garbage
collection, Services, Jobs, CronJobs, DaemonSets, leaders), which finds that
area's bugs in far fewer examples. :data:`BUG_PROFILES` names the profile
each planted bug of :mod:`controllers.planted` is hunted with.

Object names come from small pools (``web-a``/``web-b``, ``rs-a``/``rs-b``...)
and nodes from ``node-2``...``node-5`` (``node-1`` is never taken away), so
random steps keep meeting the same objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from hypothesis import strategies as st

from controllers import planted
from controllers.verify.steps import (
    AddNode,
    Advance,
    ChangeTemplate,
    Cordon,
    CrashContainer,
    CreateChart,
    CreateConfigMap,
    CreateCronJob,
    CreateDaemonSet,
    CreateDeployment,
    CreateJob,
    CreateReplicaSet,
    CreateService,
    Delete,
    DeposeLeader,
    Drain,
    FlapProbe,
    Inject,
    LabelNode,
    NodeFault,
    Pause,
    RemoveNode,
    Replace,
    ReplaceConfigMap,
    Resume,
    Scale,
    Step,
    TaintNode,
    Undo,
)
from reconcile.verify import Fault, Lag, faults

__all__ = ["BUG_PROFILES", "PROFILES", "Profile"]

S = st.SearchStrategy

DEPLOYMENTS = st.sampled_from(["web-a", "web-b"])
REPLICASETS = st.sampled_from(["rs-a", "rs-b"])
NODES = st.sampled_from(["node-2", "node-3", "node-4", "node-5"])
IMAGES = st.sampled_from(["v1", "v2", "v3", "v4"])
PROPAGATION = st.sampled_from(["Background", "Foreground", "Orphan"])
BOUNDS: S[int | str] = st.sampled_from([0, 1, 2, "25%", "50%"])

KCM = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KUBELET = "kubelet"


@attrs.frozen(kw_only=True)
class Profile:
    """
    A named mix of steps: ``initial`` ones (the workloads under test, then a
    wait), then any number drawn from ``steps``; ``leader_election`` when it
    deposes leaders.
    """

    name: str
    initial: S[tuple[Step, ...]]
    steps: S[Step]
    leader_election: bool = False


Family = list[S[Step]]


def _advance(*seconds: float) -> Family:
    return [st.builds(Advance, seconds=st.sampled_from(seconds))]


def _create_deployment(
    bounds: S[int | str] = BOUNDS, *, target: S[str] = DEPLOYMENTS, image: S[str] = IMAGES
) -> S[Step]:
    return st.builds(
        CreateDeployment,
        target=target,
        replicas=st.integers(1, 5),
        image=image,
        surge=bounds,
        unavailable=bounds,
        min_ready=st.integers(0, 3),
        recreate=st.sampled_from([False, False, False, True]),  # mostly rolling updates
        history=st.integers(0, 2),
    )


def _deployments(*, rollouts: int = 1) -> Family:
    """Deployment actions; ``rollouts`` weighs template changes against the rest."""
    change = st.builds(ChangeTemplate, kind=st.just("deployment"), target=DEPLOYMENTS, image=IMAGES)
    return [
        _create_deployment(),
        st.builds(
            Scale, kind=st.just("deployment"), target=DEPLOYMENTS, replicas=st.integers(0, 6)
        ),
        *[change] * (2 * rollouts),
        st.builds(Pause, target=DEPLOYMENTS),
        st.builds(Resume, target=DEPLOYMENTS),
        st.builds(Undo, target=DEPLOYMENTS),
        st.builds(Delete, kind=st.just("deployment"), target=DEPLOYMENTS, propagation=PROPAGATION),
    ]


def _replacements() -> Family:
    """Deployments replaced (deleted and created again at once) and their ConfigMaps."""
    return [
        st.builds(Replace, target=DEPLOYMENTS),
        st.builds(CreateConfigMap, target=DEPLOYMENTS),
        st.builds(ReplaceConfigMap, target=DEPLOYMENTS),
        st.builds(CreateChart, target=DEPLOYMENTS, replicas=st.integers(1, 3)),
    ]


def _create_replica_set() -> S[Step]:
    return st.builds(
        CreateReplicaSet, target=REPLICASETS, replicas=st.integers(1, 4), shared=st.booleans()
    )


def _replica_sets() -> Family:
    return [
        _create_replica_set(),
        st.builds(
            Scale, kind=st.just("replicaset"), target=REPLICASETS, replicas=st.integers(0, 5)
        ),
        st.builds(Delete, kind=st.just("replicaset"), target=REPLICASETS, propagation=PROPAGATION),
    ]


def _create_daemon_set() -> S[Step]:
    return st.builds(
        CreateDaemonSet, target=st.just("ds-a"), edge_only=st.booleans(), tolerate=st.booleans()
    )


def _daemon_sets() -> Family:
    ds = st.just("ds-a")
    return [
        _create_daemon_set(),
        st.builds(ChangeTemplate, kind=st.just("daemonset"), target=ds, image=IMAGES),
        st.builds(Delete, kind=st.just("daemonset"), target=ds, propagation=PROPAGATION),
    ]


JOBS = st.sampled_from(["job-a", "job-b"])


def _create_job() -> S[Step]:
    return st.builds(
        CreateJob,
        target=JOBS,
        completions=st.integers(1, 4),
        parallelism=st.integers(1, 3),
        fail=st.booleans(),
        seconds=st.sampled_from([2, 5, 10, 30, 60]),
        backoff=st.integers(1, 3),
    )


def _jobs() -> Family:
    return [
        _create_job(),
        st.builds(Delete, kind=st.just("job"), target=JOBS, propagation=PROPAGATION),
    ]


def _create_cron_job() -> S[Step]:
    return st.builds(
        CreateCronJob, target=st.just("cron-a"), seconds=st.sampled_from([30, 90, 150])
    )


def _cron_jobs() -> Family:
    cron = st.just("cron-a")
    return [
        _create_cron_job(),
        st.builds(Delete, kind=st.just("cronjob"), target=cron, propagation=PROPAGATION),
    ]


SERVICE_TARGETS = st.sampled_from(["web-a", "web-b", "rs-a"])


def _services() -> Family:
    return [
        st.builds(CreateService, target=SERVICE_TARGETS, publish_not_ready=st.booleans()),
        st.builds(Delete, kind=st.just("service"), target=SERVICE_TARGETS, propagation=PROPAGATION),
    ]


def _nodes() -> Family:
    return [
        st.builds(AddNode, node=NODES),
        st.builds(RemoveNode, node=NODES),
        st.builds(LabelNode, node=NODES, value=st.sampled_from(["edge", None])),
        st.builds(
            TaintNode,
            node=NODES,
            effect=st.sampled_from(["NoSchedule", "NoExecute"]),
            remove=st.booleans(),
        ),
        st.builds(Cordon, node=NODES, uncordon=st.booleans()),
        st.builds(Drain, node=NODES),
    ]


def _component_faults(*components: str, classes: tuple[str, ...] | None = None) -> Family:
    chosen = classes or (
        "crash", "conflict", "throttle", "slow", "lag", "remember", "time-travel", "perturb",
        "coalesce", "expire", "skew", "heal",
    )  # fmt: skip
    return [faults(list(components), classes=(name,)).map(_inject) for name in chosen]


def _inject(fault: Fault) -> Step:
    return Inject(what=fault)


# The kubelet's clock stays exact and running: see controllers.cluster.components.
_KUBELET_FAULTS = ("crash", "conflict", "throttle", "slow", "lag", "perturb", "expire", "heal")


def _environment() -> Family:
    return [
        st.builds(NodeFault, node=NODES, what=st.sampled_from(["stop", "cut-off", "restore"])),
        st.builds(CrashContainer, index=st.integers(0, 20)),
        st.builds(FlapProbe, index=st.integers(0, 20), seconds=st.sampled_from([2, 5, 20])),
    ]


def _profile(
    name: str,
    initial: Sequence[S[Step]],
    *parts: tuple[int, Family],
    leader_election: bool = False,
    wait: float = 30.0,
) -> Profile:
    """
    A profile drawing from ``parts``: a family is chosen by its weight, then
    one of its strategies. ``initial`` steps come first, then ``wait`` seconds pass.
    """
    weighted = [family for weight, family in parts for _ in range(weight)]
    steps = st.sampled_from(weighted).flatmap(st.sampled_from).flatmap(lambda s: s)
    waiting = [st.just(Advance(seconds=wait))] if wait else []
    start = st.tuples(*initial, *waiting)
    return Profile(name=name, initial=start, steps=steps, leader_election=leader_election)


_KCM_FAULTS = _component_faults(KCM)
_PERCENTS: S[int | str] = st.sampled_from([0, 1, "25%", "25%", "50%"])
# One of the controller manager's informers falls behind (the others keep up).
_LAGGING_INFORMER: Family = [
    st.builds(Lag, component=st.just(KCM), kinds=st.sampled_from([("Pod",), ("Deployment",)])).map(
        _inject
    )
]
_DEPOSE: Family = [st.builds(DeposeLeader, seconds=st.sampled_from([20, 40]))]
_TIME = _advance(0.5, 1, 2, 5, 10, 30, 60)
_SERVICE = st.builds(CreateService, target=st.just("web-a"), publish_not_ready=st.booleans())

PROFILES: Mapping[str, Profile] = {
    p.name: p
    for p in (
        _profile(
            "everything",
            [_create_deployment(), _SERVICE, _create_daemon_set(), _create_job()],
            (3, _deployments()),
            (1, _replica_sets()),
            (1, _daemon_sets()),
            (1, _jobs()),
            (1, _cron_jobs()),
            (1, _services()),
            (1, _nodes()),
            (2, _KCM_FAULTS),
            (1, _component_faults(SCHEDULER)),
            (1, _component_faults(KUBELET, classes=_KUBELET_FAULTS)),
            (1, _environment()),
            (1, _DEPOSE),
            (4, _TIME),
            leader_election=True,
        ),
        _profile(
            "rollout",
            # Percentages, where rounding matters, more often than in other profiles.
            [
                _create_deployment(_PERCENTS, target=st.just("web-a"), image=st.just("v1")),
                _create_deployment(_PERCENTS, target=st.just("web-b"), image=st.just("v1")),
            ],
            (4, _deployments(rollouts=2)),
            (4, _TIME),
        ),
        _profile(
            "conflicts",
            [st.builds(CreateReplicaSet, target=st.just("rs-a")), _create_deployment()],
            (3, _component_faults(KCM, classes=("conflict", "throttle", "heal"))),
            (
                3,
                [
                    st.builds(
                        Scale,
                        kind=st.just("replicaset"),
                        target=st.just("rs-a"),
                        replicas=st.integers(0, 5),
                    )
                ],
            ),
            (1, _replica_sets()),
            (1, _deployments()),
            (3, _TIME),
        ),
        _profile(
            "informers",
            [st.just(CreateDeployment(target="web-a")), _create_replica_set()],
            (3, _LAGGING_INFORMER),
            (3, [st.builds(CreateChart, target=st.just("web-b"), replicas=st.integers(1, 3))]),
            (1, [st.builds(Delete, kind=st.just("deployment"), target=st.just("web-b"))]),
            (2, _replica_sets()),
            (1, _component_faults(KCM, classes=("heal",))),
            (2, _advance(0.5, 1, 5)),
        ),
        _profile(
            "replicaset",
            [_create_replica_set(), _create_replica_set(), _create_job()],
            (3, _replica_sets()),
            (2, _LAGGING_INFORMER),
            (1, _jobs()),
            (3, _KCM_FAULTS),
            (3, _TIME),
        ),
        _profile(
            "gc",
            [_create_deployment(), _create_replica_set()],
            (3, _deployments()),
            (3, _replacements()),
            (2, _LAGGING_INFORMER),
            (2, _replica_sets()),
            (1, _services()),
            (3, _KCM_FAULTS),
            (3, _TIME),
        ),
        _profile(
            "names",
            [st.just(CreateDeployment(target="web-a")), st.just(CreateConfigMap(target="web-a"))],
            (3, _replacements()),
            (2, _component_faults(KCM, classes=("slow", "throttle", "heal"))),
            (3, _advance(0.5, 1, 2, 5)),
        ),
        _profile(
            "services",
            [_create_deployment(), _SERVICE],
            (2, _deployments()),
            (
                2,
                [
                    st.builds(
                        Scale,
                        kind=st.just("deployment"),
                        target=st.just("web-a"),
                        replicas=st.integers(0, 2),
                    )
                ],
            ),
            (2, _services()),
            (2, _KCM_FAULTS),
            (2, _environment()),
            (3, _TIME),
        ),
        _profile(
            "jobs",
            [_create_job()],
            (2, _jobs()),
            (3, _component_faults(KCM, classes=("crash", "conflict", "throttle", "slow", "heal"))),
            (2, _KCM_FAULTS),
            (3, _TIME),
            wait=0.0,
        ),
        _profile(
            "cronjobs",
            [_create_cron_job()],
            (1, _cron_jobs()),
            (1, _KCM_FAULTS),
            (3, _advance(30, 60, 120)),
        ),
        _profile(
            "daemonsets",
            [
                st.builds(TaintNode, node=NODES, effect=st.just("NoSchedule")),
                st.just(Advance(seconds=2.0)),
                _create_daemon_set(),
            ],
            (2, _daemon_sets()),
            (3, _nodes()),
            (1, _KCM_FAULTS),
            (3, _TIME),
        ),
        _profile(
            "leaders",
            [_create_deployment()],
            (3, _deployments()),
            (2, _DEPOSE),
            (3, _TIME),
            leader_election=True,
        ),
    )
}
"""Every profile, by name."""

BUG_PROFILES: Mapping[str, str] = {
    planted.DEPLOYMENT_SURGE_ROUNDED_DOWN: "rollout",
    planted.DEPLOYMENT_UNAVAILABLE_ROUNDED_UP: "rollout",
    planted.DEPLOYMENT_COUNTS_REPLICAS_AS_AVAILABLE: "rollout",
    planted.DEPLOYMENT_IGNORES_REVISION_HISTORY_LIMIT: "rollout",
    planted.REPLICASET_IGNORES_EXPECTATIONS: "replicaset",
    planted.REPLICASET_NO_MIN_READY_REQUEUE: "rollout",
    planted.REPLICASET_DROPS_STATUS_CONFLICT: "conflicts",
    planted.REPLICASET_ADOPTS_OWNED_PODS: "replicaset",
    planted.GC_DELETES_ORPHANED_DEPENDENTS: "gc",
    planted.GC_DELETE_WITHOUT_UID_PRECONDITION: "names",
    planted.GC_TRUSTS_LAGGING_CACHE: "informers",
    planted.ENDPOINTS_INCLUDES_NOT_READY_PODS: "services",
    planted.ENDPOINTS_EDGE_TRIGGERED_DELETE: "services",
    planted.ENDPOINTS_REWRITES_UNCHANGED: "services",
    planted.JOB_IGNORES_BACKOFF_LIMIT: "jobs",
    planted.JOB_IGNORES_PARALLELISM: "jobs",
    planted.JOB_COUNTS_FINISHED_POD_TWICE: "jobs",
    planted.JOB_LEAVES_TRACKING_FINALIZER: "jobs",
    planted.CRONJOB_FORBID_RUNS_CONCURRENTLY: "cronjobs",
    planted.DAEMONSET_IGNORES_NOSCHEDULE_TAINTS: "daemonsets",
    planted.DAEMONSET_TWO_PODS_PER_NODE: "daemonsets",
    "leaderelection.no-fencing": "leaders",
}
"""The profile each planted bug is hunted with."""
