"""
``kubectl cordon``, ``uncordon`` and ``drain --ignore-daemonsets``, as async functions.

:func:`pods_to_drain` is the pure selection: every pod bound to the node
except mirror pods (annotation ``kubernetes.io/config.mirror``; the kubelet
owns them), pods controlled by a DaemonSet (it would recreate them on the
node at once) and pods already terminating.

:func:`drain` cordons the node, then deletes each selected pod with a uid
precondition and the pod's default grace period. Unlike ``kubectl drain``
it deletes rather than posting to the Eviction API (there are no
PodDisruptionBudgets here), it does not refuse unmanaged pods or pods with
``emptyDir`` data (as if ``--force --delete-emptydir-data`` were given) and
it does not wait for the pods to be gone: the caller may watch for that.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controllers.api.core import MIRROR_ANNOTATION, Node, Pod
from reconcile import (
    Client,
    ConflictError,
    FieldSelector,
    ObjectKey,
    controller_of,
    delete_by_uid,
)

__all__ = ["MIRROR_ANNOTATION", "cordon", "drain", "pods_to_drain", "uncordon"]

"""Marks the API copy of a static pod, which only its kubelet may remove."""

_ATTEMPTS = 5


def pods_to_drain(pods: Iterable[Pod], node_name: str) -> list[Pod]:
    """The pods on ``node_name`` that a drain evicts, in the order given."""
    selected = []
    for pod in pods:
        if pod.spec.node_name != node_name or pod.metadata.deletion_timestamp is not None:
            continue
        if MIRROR_ANNOTATION in pod.metadata.annotations:
            continue
        owner = controller_of(pod.metadata)
        if owner is not None and owner.kind == "DaemonSet":
            continue
        selected.append(pod)
    return selected


async def _set_unschedulable(client: Client, node_name: str, value: bool) -> Node:
    key = ObjectKey(namespace="", name=node_name)
    for attempt in range(_ATTEMPTS):
        node = await client.get(Node, key)
        if node.spec.unschedulable == value:
            return node
        try:
            return await client.update(
                attrs.evolve(node, spec=attrs.evolve(node.spec, unschedulable=value))
            )
        except ConflictError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def cordon(client: Client, node_name: str) -> Node:
    """Mark the node unschedulable (a no-op if it is); returns the node. Retries conflicts."""
    return await _set_unschedulable(client, node_name, True)


async def uncordon(client: Client, node_name: str) -> Node:
    """Mark the node schedulable again (a no-op if it is); returns the node."""
    return await _set_unschedulable(client, node_name, False)


async def drain(client: Client, node_name: str, *, pods: list[Pod] | None = None) -> list[Pod]:
    """
    Cordon ``node_name`` and delete its pods as :func:`pods_to_drain` selects them.

    ``pods`` are the candidates (for example from an informer cache); when
    omitted they are listed from the API with ``spec.nodeName``. Returns the
    pods whose deletion was requested; pods already gone or replaced are
    skipped.
    """
    await cordon(client, node_name)
    if pods is None:
        listed = await client.list(Pod, fields=FieldSelector.parse(f"spec.nodeName={node_name}"))
        pods = list(listed.items)
    return [
        pod
        for pod in pods_to_drain(pods, node_name)
        if await delete_by_uid(client, Pod, pod.key, pod.metadata.uid)
    ]
