"""
Writing an owner's claims on pods: adopting orphans, releasing pods that stopped matching.

Kubernetes: ``AdoptPod`` and ``ReleasePod`` of ``PodControllerRefManager``
in pkg/controller/controller_ref_manager.go, with ``RecheckDeletionTimestamp``.
Which pods to adopt or release is the callers' pure ``claim``; this module
only writes the decision, with ``update`` on the cached resource version (a
``ConflictError`` reaches the caller, so the engine retries on a fresh cache).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from controllers.api.core import Pod
from reconcile import (
    Client,
    NotFoundError,
    Resource,
    owner_reference_to,
    remove_owner_reference,
    set_controller_reference,
)

__all__ = ["adopt", "release"]

O = TypeVar("O", bound=Resource)  # noqa: E741  # the owner kind


async def adopt(
    client: Client, owner: O, orphans: Sequence[Pod], *, error: Callable[[str], Exception]
) -> list[Pod]:
    """
    Make ``owner`` the controller of ``orphans``; returns the adopted pods as written.

    ``owner`` is re-read live first: one that is gone (or replaced under its
    name) or being deleted adopts nothing, and ``error`` of a message is raised.
    An orphan deleted meanwhile is skipped.
    """
    fresh = await client.get(type(owner), owner.metadata.key)
    if fresh.metadata.uid != owner.metadata.uid or fresh.metadata.deletion_timestamp is not None:
        kind = type(owner).__kind__.kind
        raise error(f"cannot adopt pods: {kind} {owner.metadata.key} is gone or being deleted")
    ref = owner_reference_to(owner)
    adopted = []
    for pod in orphans:
        meta = set_controller_reference(pod.metadata, ref)
        with contextlib.suppress(NotFoundError):  # gone meanwhile: nothing to adopt
            adopted.append(await client.update(attrs.evolve(pod, metadata=meta)))
    return adopted


async def release(client: Client, owner: Resource, pod: Pod) -> None:
    """Remove ``owner``'s reference from ``pod`` (a pod deleted meanwhile is released for good)."""
    meta = remove_owner_reference(pod.metadata, owner.metadata.uid)
    with contextlib.suppress(NotFoundError):  # gone meanwhile: released for good
        await client.update(attrs.evolve(pod, metadata=meta))
