"""
What the user and the faults did: the facts the safety invariants need to be fair.

Kubernetes promises its bounds only within their premises: availability may
drop while a node is drained or a container crashes, a Deployment's
ReplicaSets may exceed its surge right after a user scale, an orphaned
object may be adopted by someone else. Steps tell the :class:`Ledger` about
those moments before they act, so invariants can tell a premise broken by
the user or the environment from a controller's mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import reconcile

__all__ = ["DISRUPTION_WINDOW", "Ledger"]

DISRUPTION_WINDOW = 90.0
"""
Seconds after a disruption (a crash, a flap, an eviction, a node fault ended)
during which availability is not asserted: a crashed container restarts
after a back-off and becomes ready again, evicted pods are replaced.
"""


class Ledger:
    """Exemption bookkeeping for one run (see the module docstring)."""

    def __init__(self, api: reconcile.MemoryCluster, now: Callable[[], float]) -> None:
        self._api = api
        self._now = now
        self.created: set[str] = set()  # names (re)created or scaled: floors disarmed
        self.user_deleted: set[str] = set()  # uids the user deleted
        # uid of each dependent released by an Orphan delete -> the uid of that owner
        self.orphaned: dict[str, str] = {}
        # every dependent an Orphan delete released, promised to survive or not:
        # another owner may adopt it (and then hold more than it asked for)
        self.freed: set[str] = set()
        self.disrupted: set[str] = set()  # nodes whose pods may go: evictions are not losses
        self.quiet_from = 0.0  # no disruption is in effect from this (virtual) time on
        self.clock_faults: set[str] = set()  # components whose clock is off or paused
        self.stale_faults: set[str] = set()  # components whose reads may be stale
        self.kubelet_faults = False

    def user_create(self, name: str) -> None:
        """The user creates (or re-creates) ``name``: it may adopt, its floor is not armed yet."""
        self.created.add(name)

    def user_scale(self, name: str) -> None:
        """The user scales ``name``: bounds move under the controller's feet (an exemption)."""
        self.created.add(name)

    def user_delete(self, obj: reconcile.Resource, *, orphan: bool) -> None:
        """The user deletes ``obj``; with ``orphan`` its dependents are released and must live."""
        self.user_deleted.add(obj.metadata.uid)
        if not orphan:
            # Deleting again with another policy while an Orphan deletion is
            # pending switches to it (the API server drops the orphan finalizer).
            gone = obj.metadata.uid
            self.orphaned = {d: o for d, o in self.orphaned.items() if o != gone}
            return
        dependents = [
            dependent
            for kind in self._api.kinds()
            for dependent in self._api.list_nowait(kind).items
            if any(r.uid == obj.metadata.uid for r in dependent.metadata.owner_references)
        ]
        self.freed.update(d.metadata.uid for d in dependents)
        if "kube-controller-manager" in self.stale_faults:
            # The collector orphans the dependents its caches hold; one they do
            # not hold yet is later collected as dangling (as in Kubernetes).
            return
        for dependent in dependents:
            if _kept(obj, dependent, dependents):
                self.orphaned[dependent.metadata.uid] = obj.metadata.uid

    def released(self, obj: reconcile.Resource) -> bool:
        """
        Whether ``obj`` was released by an Orphan delete and not adopted since:
        it must survive (still pointing at the deleted owner counts as released,
        the collector may not have removed the reference yet).
        """
        owner = self.orphaned.get(obj.metadata.uid)
        if owner is None:
            return False
        controller = next((r for r in obj.metadata.owner_references if r.controller), None)
        return controller is None or controller.uid == owner

    def disrupt(self, node: str) -> None:
        """Pods on ``node`` may be evicted, killed or become unready now."""
        self.disrupted.add(node)
        self.extend_disruption()

    def extend_disruption(self) -> None:
        self.quiet_from = max(self.quiet_from, self._now() + DISRUPTION_WINDOW)

    @property
    def quiet(self) -> bool:
        """No disruption and no fault that bends availability (clocks, kubelet) is in effect."""
        return (
            self._now() >= self.quiet_from
            and not self.kubelet_faults
            and "kube-controller-manager" not in self.clock_faults
        )

    def consumed(self, name: str) -> bool:
        """Whether ``name`` was created or scaled since the last call; clears it."""
        if name in self.created:
            self.created.discard(name)
            return True
        return False


def _kept(
    owner: reconcile.Resource, dependent: reconcile.Resource, siblings: list[reconcile.Resource]
) -> bool:
    """
    Whether ``dependent`` must outlive an Orphan delete of ``owner``: not when
    it was already going, nor when the owner was scaling it away or was being
    deleted in the foreground (deletions decided before the Orphan delete may
    still land, as in Kubernetes).
    """
    if dependent.metadata.deletion_timestamp is not None:
        return False
    if "foregroundDeletion" in owner.metadata.finalizers:
        return False
    wanted = getattr(getattr(owner, "spec", None), "replicas", None)
    if not isinstance(wanted, int):
        return True
    scale = getattr(getattr(dependent, "spec", None), "replicas", None)
    if isinstance(scale, int):  # a Deployment's ReplicaSet: one at zero may be cleaned up
        return scale > 0
    live = [d for d in siblings if d.metadata.deletion_timestamp is None]
    return len(live) <= wanted
