"""
The Pod informer handler that tells :class:`reconcile.Expectations` what was observed.

Kubernetes: ``addPod``/``updatePod``/``deletePod`` of the ReplicaSet,
DaemonSet and Job controllers, which call ``CreationObserved`` and
``DeletionObserved`` of ``ControllerExpectations`` in
pkg/controller/controller_utils.go. Runs synchronously inside the informer,
O(1) per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

from controllers.api.core import Pod
from reconcile import Expectations, ObjectKey, Resource, Store, controller_of

__all__ = ["PodExpectationsObserver"]

O = TypeVar("O", bound=Resource)  # noqa: E741  # the owner kind


@attrs.frozen
class PodExpectationsObserver(Generic[O]):
    """
    Lowers the expectations of the cached owner controlling a pod, as the pod comes and goes.

    A pod controlled by a cached owner (same uid) that appears is a
    creation; one that gets a deletion timestamp or leaves the cache is a
    deletion (counted once per uid).

    Args:
        expectations: The owners' expectations.
        owners: The owner cache.
        owner_of: The key of the owner (of the right kind) controlling a pod, if any;
            see :func:`~controllers.podcontrol.owners.owner_key`.
    """

    expectations: Expectations
    owners: Store[O]
    owner_of: Callable[[Pod], ObjectKey | None]

    def owner(self, pod: Pod) -> ObjectKey | None:
        """The key of the cached owner controlling ``pod`` (same uid), if any."""
        key = self.owner_of(pod)
        if key is None:
            return None
        owner = self.owners.get(key)
        ref = controller_of(pod.metadata)
        if owner is None or ref is None or owner.metadata.uid != ref.uid:
            return None
        return key

    def on_add(self, obj: Pod) -> None:
        key = self.owner(obj)
        if key is None:
            return
        if obj.metadata.deletion_timestamp is not None:
            self.expectations.deletion_observed(key, obj.metadata.uid)
        else:
            self.expectations.creation_observed(key)

    def on_update(self, old: Pod, new: Pod) -> None:
        if new.metadata.deletion_timestamp is None:
            return
        key = self.owner(new)
        if key is not None:
            self.expectations.deletion_observed(key, new.metadata.uid)

    def on_delete(self, obj: Pod) -> None:
        key = self.owner(obj)
        if key is not None:
            self.expectations.deletion_observed(key, obj.metadata.uid)
