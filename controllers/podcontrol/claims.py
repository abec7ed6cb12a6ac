"""
An owner's claims on pods: which to keep, adopt and release, and writing that down.

Kubernetes: ``ClaimPods``, ``AdoptPod`` and ``ReleasePod`` of
``PodControllerRefManager`` in pkg/controller/controller_ref_manager.go,
with ``RecheckDeletionTimestamp``. :func:`claim_pods` decides (pure);
:func:`adopt` and :func:`release` write the decision, with ``update`` on
the cached resource version (a ``ConflictError`` reaches the caller, so the
engine retries on a fresh cache).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import attrs

from controllers.api.core import Pod
from reconcile import (
    Client,
    LabelSelector,
    NotFoundError,
    ObjectMeta,
    Resource,
    controller_of,
    owner_reference_to,
    remove_owner_reference,
    set_controller_reference,
)

__all__ = ["Claim", "adopt", "claim_pods", "release"]

O = TypeVar("O", bound=Resource)  # noqa: E741  # the owner kind


@attrs.frozen(kw_only=True)
class Claim:
    """
    Which pods an owner keeps, adopts and releases.

    Attributes:
        owned: Pods it controls that match its selector.
        adopt: Matching orphans (no controller, not being deleted) to take control of.
        release: Pods it controls that no longer match, to let go.
    """

    owned: tuple[Pod, ...] = ()
    adopt: tuple[Pod, ...] = ()
    release: tuple[Pod, ...] = ()


def claim_pods(owner: ObjectMeta, selector: LabelSelector | None, pods: Iterable[Pod]) -> Claim:
    """
    Sort ``pods`` into the ones ``owner`` keeps, adopts and releases (pure).

    Pods another controller controls are never taken. An owner without a
    selector claims nothing; one being deleted keeps what it controls and
    matches, but adopts and releases nothing. The callers filter ``pods``
    first (the ReplicaSet passes only active ones). Kubernetes: ``ClaimPods``.
    """
    if selector is None:
        return Claim()
    uid = owner.uid
    deleting = owner.deletion_timestamp is not None
    owned: list[Pod] = []
    adopt: list[Pod] = []
    release: list[Pod] = []
    # Pods made from one template share one labels value: match it once.
    seen_labels: object = None
    matches = False
    for pod in pods:
        ref = controller_of(pod.metadata)
        if ref is not None and ref.uid != uid:
            continue  # another controller's: never ours to take
        labels = pod.metadata.labels
        if labels is not seen_labels:
            seen_labels, matches = labels, selector.matches(labels)
        if ref is not None:
            if matches:
                owned.append(pod)
            elif not deleting:
                release.append(pod)
        elif matches and not deleting and pod.metadata.deletion_timestamp is None:
            adopt.append(pod)
    return Claim(owned=tuple(owned), adopt=tuple(adopt), release=tuple(release))


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
