"""
Which owners a pod concerns: its controller of a given kind, or for an orphan, its selectors.

Kubernetes: ``resolveControllerRef`` and ``getPodReplicaSets`` /
``getDaemonSetsForPod`` of the ReplicaSet and DaemonSet controllers (the
shared parts live in pkg/controller/controller_utils.go). Pure functions of
a pod and a cache; they run inside the informers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from controllers.api.core import Pod
from reconcile import LabelSelector, ObjectKey, Resource, Store, controller_of

__all__ = ["owner_key", "pod_owners"]

O = TypeVar("O", bound=Resource)  # noqa: E741  # the owner kind


def owner_key(pod: Pod, *, kind: str, group: str) -> ObjectKey | None:
    """The key of the ``kind`` in API ``group`` that controls ``pod`` (by its owner reference)."""
    ref = controller_of(pod.metadata)
    if ref is None or ref.kind != kind or not ref.api_version.startswith(f"{group}/"):
        return None
    return ObjectKey(namespace=pod.metadata.namespace, name=ref.name)


def pod_owners(
    owners: Store[O],
    owner_of: Callable[[Pod], ObjectKey | None],
    selector_of: Callable[[O], LabelSelector | None],
) -> Callable[[Resource], list[ObjectKey]]:
    """
    The pod mapper of an owner kind: the controlling owner, or the owners adopting an orphan.

    A pod ``owner_of`` maps is enqueued to that owner; a pod without a
    controller, to every owner of its namespace whose selector (``selector_of``)
    matches it;
    a pod controlled by anything else, to none.
    """

    def mapper(obj: Resource) -> list[ObjectKey]:
        if not isinstance(obj, Pod):
            return []
        key = owner_of(obj)
        if key is not None:
            return [key]
        if controller_of(obj.metadata) is not None:
            return []  # controlled by something of another kind
        labels = obj.metadata.labels
        return [
            owner.metadata.key
            for owner in owners.list(namespace=obj.metadata.namespace)
            if (selector := selector_of(owner)) is not None and selector.matches(labels)
        ]

    return mapper
