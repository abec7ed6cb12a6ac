"""
A DaemonSet's revision history as ``ControllerRevision`` objects: pure.

Every pod template a DaemonSet has had is one ControllerRevision it
controls, named ``<daemonset>-<hash>`` and labelled
``controller-revision-hash: <hash>``, whose ``data`` is the strategic-merge
patch that puts the template back (``{"spec": {"template": {...,
"$patch": "replace"}}}``) and whose ``revision`` counts up. The *current*
revision is the one whose data is the DaemonSet's template; it always holds
the highest number, so going back to an older template renumbers that
revision rather than creating a new one. Pods carry the hash of the
revision they were made from in the same label, which is how a rolling
update tells new pods from old.

Old revisions beyond ``revisionHistoryLimit`` (default 10) are deleted,
lowest number first, except those some live pod still carries the hash of.

Kubernetes: ``constructHistory``, ``cleanupHistory``, ``getPatch`` and
``dedupCurHistories`` in pkg/controller/daemon/update.go, and
pkg/controller/history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import attrs

from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.api.core import Pod
from controllers.api.pod import PodTemplateSpec
from controllers.deployment.util import pod_template_hash
from reconcile import JSON, FrozenDict, ObjectMeta, freeze, owner_reference_to, to_json

__all__ = [
    "DEFAULT_REVISION_HISTORY_LIMIT",
    "HASH_LABEL",
    "History",
    "history_to_delete",
    "new_revision",
    "revision_data",
    "revision_name",
    "split_history",
    "template_hash",
]

HASH_LABEL = "controller-revision-hash"
"""The label naming the revision a pod (or a ControllerRevision) was made from."""

DEFAULT_REVISION_HISTORY_LIMIT = 10
"""Old revisions kept when ``spec.revisionHistoryLimit`` is unset."""

_T = TypeVar("_T")
_MAX_PREFIX = 223  # Kubernetes: a revision name's prefix leaves room for the hash


_MEMO_SIZE = 256
_memo: dict[tuple[str, int, int | None], tuple[PodTemplateSpec, object]] = {}


def _memoized(kind: str, ds: DaemonSet, compute: Callable[[], _T]) -> _T:
    """
    ``compute()``, remembered for this very template object (and collision count).

    Store reads share immutable objects, so every sync of an unchanged
    DaemonSet sees the same template instance: its hash and its JSON are
    worked out once, not once per sync.
    """
    template = ds.spec.template
    key = (kind, id(template), ds.status.collision_count)
    found = _memo.get(key)
    if found is not None and found[0] is template:
        return found[1]  # type: ignore[return-value]
    value = compute()
    if len(_memo) >= _MEMO_SIZE:
        _memo.clear()
    _memo[key] = (template, value)
    return value


def template_hash(ds: DaemonSet) -> str:
    """The hash of the DaemonSet's template and collision count (``ComputeHash``)."""
    return _memoized(
        "hash", ds, lambda: pod_template_hash(ds.spec.template, ds.status.collision_count)
    )


def revision_name(ds: DaemonSet, hash_: str) -> str:
    """``<name>-<hash>``, the prefix cut to 223 characters (``ControllerRevisionName``)."""
    return f"{ds.metadata.name[:_MAX_PREFIX]}-{hash_}"


def revision_data(ds: DaemonSet) -> JSON:
    """
    The patch that restores ``ds``'s template: what a revision stores (``getPatch``).

    ``{"spec": {"template": <template JSON>, with "$patch": "replace"}}``, frozen.
    """
    return _memoized("data", ds, lambda: _patch(ds.spec.template))


def _patch(template: PodTemplateSpec) -> JSON:
    # Only kinds convert to JSON: go through a Pod and keep its metadata and spec.
    body = to_json(Pod(metadata=template.metadata, spec=template.spec))
    assert isinstance(body, Mapping)
    patch: dict[str, object] = {k: body[k] for k in ("metadata", "spec") if k in body}
    patch["$patch"] = "replace"
    return freeze({"spec": {"template": patch}})


def new_revision(ds: DaemonSet, number: int, hash_: str | None = None) -> ControllerRevision:
    """
    The ControllerRevision of ``ds``'s current template, numbered ``number``.

    Labelled with the template's labels and :data:`HASH_LABEL`, annotated as
    the DaemonSet is, controlled by it.
    """
    hash_ = hash_ or template_hash(ds)
    labels: FrozenDict[str, str] = FrozenDict(
        {**ds.spec.template.metadata.labels, HASH_LABEL: hash_}
    )
    meta = ObjectMeta(
        name=revision_name(ds, hash_),
        namespace=ds.metadata.namespace,
        labels=labels,
        annotations=ds.metadata.annotations,
        owner_references=(owner_reference_to(ds),),
    )
    return ControllerRevision(metadata=meta, data=revision_data(ds), revision=number)


@attrs.frozen(kw_only=True)
class History:
    """
    A DaemonSet's revisions, sorted out.

    Attributes:
        current: The revisions whose data is the DaemonSet's template
            (normally one; more only after a hash collision was resolved),
            highest number first.
        old: The others, lowest number first.
    """

    current: tuple[ControllerRevision, ...] = ()
    old: tuple[ControllerRevision, ...] = ()

    @property
    def max_old_revision(self) -> int:
        """The highest number among the old revisions, ``0`` without any."""
        return max((r.revision for r in self.old), default=0)

    @property
    def next_number(self) -> int:
        """The number the current revision should have: one above every old one."""
        return self.max_old_revision + 1


def split_history(ds: DaemonSet, revisions: Iterable[ControllerRevision]) -> History:
    """
    Sort ``revisions`` (those ``ds`` controls) into current and old ones.

    A revision is current when its data equals :func:`revision_data` of ``ds``
    (Kubernetes' ``Match``).
    """
    data = revision_data(ds)
    current: list[ControllerRevision] = []
    old: list[ControllerRevision] = []
    for revision in revisions:
        (current if revision.data == data else old).append(revision)
    current.sort(key=lambda r: (-r.revision, r.metadata.name))
    old.sort(key=lambda r: (r.revision, r.metadata.name))
    return History(current=tuple(current), old=tuple(old))


def history_to_delete(
    ds: DaemonSet, old: Sequence[ControllerRevision], pods: Iterable[Pod]
) -> tuple[ControllerRevision, ...]:
    """
    The old revisions over ``revisionHistoryLimit`` to delete, lowest number first.

    ``len(old) - limit`` revisions go, taken from the lowest numbers, skipping
    (not replacing) any whose hash some pod of ``pods`` still carries.
    """
    limit = ds.spec.revision_history_limit
    if limit is None:
        limit = DEFAULT_REVISION_HISTORY_LIMIT
    excess = len(old) - limit
    if excess <= 0:
        return ()
    live = {pod.metadata.labels.get(HASH_LABEL) for pod in pods}
    victims: list[ControllerRevision] = []
    for revision in sorted(old, key=lambda r: (r.revision, r.metadata.name)):
        if len(victims) >= excess:
            break
        if revision.metadata.labels.get(HASH_LABEL) in live:
            continue
        victims.append(revision)
    return tuple(victims)
