"""
The catalogue of planted bugs in the built-in controllers.

Each constant names a deliberate defect (see :func:`reconcile.planted`):
the controller checks ``reconcile.planted(NAME)`` once per sync, right next
to the correct code, and makes the mistake only when a test switched the bug
on with ``reconcile.testing.plant(NAME)``. Nothing is planted by default.

The bugs exist to prove that checks bite: a verification harness that
switches one on must report a violation. Each description says what goes
wrong; the ``component`` is the Kubernetes component that would make the
mistake. Names are ``<controller>.<what-goes-wrong>``.

A switch is read where the mistake is made, mostly once per sync; the
pod mapping of ``replicaset.adopts-owned-pods`` and the pod filter of
``endpoints.edge-triggered-delete`` are chosen when their controller
starts, so plant those before the cluster starts (or restart the
controller manager). :data:`FAULTS` names the fault each
bug needs before any check can see it.

Importing :mod:`controllers` imports this module, so the catalogue is
declared whenever any built-in controller is.
"""

from __future__ import annotations

from collections.abc import Mapping

import reconcile

__all__ = [
    "CRONJOB_FORBID_RUNS_CONCURRENTLY",
    "DAEMONSET_IGNORES_NOSCHEDULE_TAINTS",
    "DAEMONSET_TWO_PODS_PER_NODE",
    "DEPLOYMENT_COUNTS_REPLICAS_AS_AVAILABLE",
    "DEPLOYMENT_IGNORES_REVISION_HISTORY_LIMIT",
    "DEPLOYMENT_SURGE_ROUNDED_DOWN",
    "DEPLOYMENT_UNAVAILABLE_ROUNDED_UP",
    "ENDPOINTS_EDGE_TRIGGERED_DELETE",
    "ENDPOINTS_INCLUDES_NOT_READY_PODS",
    "ENDPOINTS_REWRITES_UNCHANGED",
    "FAULTS",
    "GC_DELETES_ORPHANED_DEPENDENTS",
    "GC_DELETE_WITHOUT_UID_PRECONDITION",
    "GC_TRUSTS_LAGGING_CACHE",
    "JOB_COUNTS_FINISHED_POD_TWICE",
    "JOB_IGNORES_BACKOFF_LIMIT",
    "JOB_IGNORES_PARALLELISM",
    "JOB_LEAVES_TRACKING_FINALIZER",
    "REPLICASET_ADOPTS_OWNED_PODS",
    "REPLICASET_DROPS_STATUS_CONFLICT",
    "REPLICASET_IGNORES_EXPECTATIONS",
    "REPLICASET_NO_MIN_READY_REQUEUE",
]


def _bug(name: str, component: str, description: str) -> str:
    """Declare ``name`` and return it (the argument of :func:`reconcile.planted`)."""
    return reconcile.declare_bug(name, component=component, description=description).name


# -- Deployment ---------------------------------------------------------------------------

DEPLOYMENT_SURGE_ROUNDED_DOWN = _bug(
    "deployment.surge-rounded-down",
    "deployment-controller",
    "maxSurge percentages are rounded down instead of up: with 3 replicas and 25% the "
    "surge is 0, so the rollout deletes before it creates and availability drops",
)
DEPLOYMENT_UNAVAILABLE_ROUNDED_UP = _bug(
    "deployment.unavailable-rounded-up",
    "deployment-controller",
    "maxUnavailable percentages are rounded up instead of down: with 3 replicas and 25% "
    "one pod may be unavailable where none may",
)
DEPLOYMENT_COUNTS_REPLICAS_AS_AVAILABLE = _bug(
    "deployment.counts-replicas-as-available",
    "deployment-controller",
    "a rolling update counts a ReplicaSet's status.replicas instead of availableReplicas, "
    "so old pods are scaled down before the new ones are available",
)
DEPLOYMENT_IGNORES_REVISION_HISTORY_LIMIT = _bug(
    "deployment.ignores-revision-history-limit",
    "deployment-controller",
    "old ReplicaSets are never cleaned up: revisionHistoryLimit is ignored",
)

# -- ReplicaSet ---------------------------------------------------------------------------

REPLICASET_IGNORES_EXPECTATIONS = _bug(
    "replicaset.ignores-expectations",
    "replicaset-controller",
    "a sync creates and deletes pods before the cache has seen its previous writes, so a "
    "lagging informer makes it create the same pods twice",
)
REPLICASET_NO_MIN_READY_REQUEUE = _bug(
    "replicaset.no-min-ready-requeue",
    "replicaset-controller",
    "with minReadySeconds, no sync is scheduled for when a ready pod becomes available: "
    "availableReplicas stays behind until some unrelated event",
)
REPLICASET_DROPS_STATUS_CONFLICT = _bug(
    "replicaset.drops-status-conflict",
    "replicaset-controller",
    "a status update refused with 409 Conflict is dropped instead of retried, so the "
    "status stays stale when no further event comes",
)
REPLICASET_ADOPTS_OWNED_PODS = _bug(
    "replicaset.adopts-owned-pods",
    "replicaset-controller",
    "a ReplicaSet adopts matching pods that another controller owns, taking them over; "
    "two ReplicaSets with overlapping selectors then fight over their pods forever",
)

# -- Garbage collector --------------------------------------------------------------------

GC_DELETES_ORPHANED_DEPENDENTS = _bug(
    "gc.deletes-orphaned-dependents",
    "garbagecollector",
    "an owner deleted with propagationPolicy=Orphan has its dependents deleted instead of released",
)
GC_DELETE_WITHOUT_UID_PRECONDITION = _bug(
    "gc.delete-without-uid-precondition",
    "garbagecollector",
    "dependents are deleted by name without a uid precondition, so after a stale read "
    "an object re-created under the same name is deleted in its place",
)

GC_TRUSTS_LAGGING_CACHE = _bug(
    "gc.trusts-lagging-cache",
    "garbagecollector",
    "an owner missing from the collector's cache is taken as gone without a live read, so "
    "while the cache lags the dependents of a just-created owner are deleted",
)

# -- Endpoints ----------------------------------------------------------------------------

ENDPOINTS_INCLUDES_NOT_READY_PODS = _bug(
    "endpoints.includes-not-ready-pods",
    "endpoint-controller",
    "pods that are not Ready are listed under addresses instead of notReadyAddresses",
)
ENDPOINTS_REWRITES_UNCHANGED = _bug(
    "endpoints.rewrites-unchanged",
    "endpoint-controller",
    "Endpoints whose addresses did not change are written again on every sync (only the "
    "trigger-time annotation differs), so a quiet cluster never stops writing",
)
ENDPOINTS_EDGE_TRIGGERED_DELETE = _bug(
    "endpoints.edge-triggered-delete",
    "endpoint-controller",
    "the deletion of a pod that carries a deletion mark is ignored (edge-triggered "
    "shortcut: 'the update that marked it took it out already'); when the watch coalesces "
    "the mark and the deletion into one event, its address is never removed (with "
    "publishNotReadyAddresses, which keeps terminating pods, no fault is needed)",
)

# -- Job ----------------------------------------------------------------------------------

JOB_IGNORES_BACKOFF_LIMIT = _bug(
    "job.ignores-backoff-limit",
    "job-controller",
    "a Job whose pods keep failing never fails: backoffLimit is ignored",
)
JOB_IGNORES_PARALLELISM = _bug(
    "job.ignores-parallelism",
    "job-controller",
    "a Job with completions runs every remaining completion at once: parallelism is ignored",
)
JOB_COUNTS_FINISHED_POD_TWICE = _bug(
    "job.counts-finished-pod-twice",
    "job-controller",
    "an uncounted finished pod is counted while it still carries the tracking finalizer, "
    "and again once the finalizer is gone: after a failed finalizer removal succeeded "
    "exceeds completions",
)
JOB_LEAVES_TRACKING_FINALIZER = _bug(
    "job.leaves-tracking-finalizer",
    "job-controller",
    "the pods of a deleted Job keep the job-tracking finalizer, so they stay terminating forever",
)

# -- CronJob ------------------------------------------------------------------------------

CRONJOB_FORBID_RUNS_CONCURRENTLY = _bug(
    "cronjob.forbid-runs-concurrently",
    "cronjob-controller",
    "concurrencyPolicy Forbid is treated as Allow: a run starts while the previous one is "
    "still active",
)

# -- DaemonSet ----------------------------------------------------------------------------

DAEMONSET_IGNORES_NOSCHEDULE_TAINTS = _bug(
    "daemonset.ignores-noschedule-taints",
    "daemonset-controller",
    "untolerated NoSchedule taints are ignored: daemon pods are created on tainted nodes",
)
DAEMONSET_TWO_PODS_PER_NODE = _bug(
    "daemonset.two-pods-per-node",
    "daemonset-controller",
    "a node counts as having no daemon pod until one is Running, so a pod still starting "
    "gets a twin on the same node",
)


# -- which fault reveals which bug --------------------------------------------------------

FAULTS: Mapping[str, str] = {
    REPLICASET_IGNORES_EXPECTATIONS: "a lagging pod cache (stale reads, held watch events)",
    REPLICASET_DROPS_STATUS_CONFLICT: "a 409 Conflict on the ReplicaSet's last status write",
    GC_DELETE_WITHOUT_UID_PRECONDITION: "a stale read of an object since re-created by name",
    GC_TRUSTS_LAGGING_CACHE: "an owner's watch event delivered after its dependent's",
    ENDPOINTS_EDGE_TRIGGERED_DELETE: "a pod's deletion mark and deletion coalesced in one event",
    JOB_COUNTS_FINISHED_POD_TWICE: "a failed tracking-finalizer removal (409 twice, 5xx, crash)",
}
"""
The fault each bug needs before any check can see it; the others show in a
healthy cluster. Kubernetes' controllers survive these faults by the very
mechanism the bug removes (expectations, uid preconditions, live reads...).
"""
