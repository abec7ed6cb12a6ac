"""
The object verbs of :class:`~controllers.cluster.Cluster`: apply, get, list, delete, events.

Kinds are named as kubectl names them: the kind (``Deployment``), its plural
(``deployments``), its short name (``deploy``), case-insensitively, or given
as a class. Namespaced kinds default to namespace ``default``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

import yaml

import reconcile
from controllers.api import dump, load, load_all
from controllers.api.core import Event
from controllers.cluster.apply import LAST_APPLIED, applied_annotation, merge_patch

__all__ = ["SHORT_NAMES", "Objects", "resolve_kind"]

R = TypeVar("R", bound=reconcile.Resource)

SHORT_NAMES = {
    "po": "pods",
    "no": "nodes",
    "ns": "namespaces",
    "svc": "services",
    "ep": "endpoints",
    "cm": "configmaps",
    "ev": "events",
    "deploy": "deployments",
    "rs": "replicasets",
    "ds": "daemonsets",
    "cj": "cronjobs",
}
"""kubectl's short names of the built-in kinds."""

KindRef = str | type[reconcile.Resource]


def resolve_kind(kind: KindRef) -> type[reconcile.Resource]:
    """The kind class for a name (kind, plural or short name, any case) or a class."""
    if isinstance(kind, type):
        return kind
    wanted = kind.lower()
    wanted = SHORT_NAMES.get(wanted, wanted)
    for cls in reconcile.registry:
        k = reconcile.kind_of(cls)
        if wanted in (k.kind.lower(), k.plural, k.resource):
            return cls
    raise LookupError(f"the server doesn't have a resource type {kind!r}")


class Objects:
    """Mixin of :class:`~controllers.cluster.Cluster`: reading and writing objects."""

    api: reconcile.MemoryCluster

    @staticmethod
    def _one(manifest: reconcile.Resource | str | Mapping[str, Any], cls: type[R]) -> R:
        """One object of ``cls`` from an object, a YAML/JSON text or a dict."""
        if isinstance(manifest, str):
            objects = load_all(manifest)
            if len(objects) != 1:
                raise ValueError(f"expected one {cls.__name__} manifest, got {len(objects)}")
            obj: reconcile.Resource = objects[0]
        elif isinstance(manifest, Mapping):
            obj = load(manifest)
        else:
            obj = manifest
        if not isinstance(obj, cls):
            raise TypeError(f"expected a {cls.__name__}, got {type(obj).__name__}")
        return obj

    @staticmethod
    def _documents(
        manifests: str | Mapping[str, Any] | reconcile.Resource | Iterable[Any],
    ) -> list[reconcile.Resource]:
        if isinstance(manifests, str):
            return load_all(manifests)
        if isinstance(manifests, Mapping):
            return [load(manifests)]
        if isinstance(manifests, reconcile.Resource):
            return [manifests]
        return [doc for m in manifests for doc in Objects._documents(m)]

    async def apply(
        self, manifests: str | Mapping[str, Any] | reconcile.Resource | Iterable[Any]
    ) -> list[reconcile.Resource]:
        """
        Create or update objects, like ``kubectl apply -f`` (see :mod:`controllers.cluster.apply`).

        ``manifests`` is YAML text (several documents and ``List`` kinds
        allowed), a dict, an object or a list of those. Every document is
        parsed before anything is written. Returns the objects as stored.

        Raises:
            reconcile.InvalidError: a document is refused (the ones before it
                are applied, as with kubectl).
        """
        return [await self._apply_one(obj) for obj in self._documents(manifests)]

    async def _apply_one(self, obj: reconcile.Resource) -> reconcile.Resource:
        cls = type(obj)
        kind = reconcile.kind_of(cls)
        meta = obj.metadata
        namespace = (meta.namespace or "default") if kind.namespaced else ""
        manifest = dump(obj)
        if kind.namespaced:
            manifest.setdefault("metadata", {})["namespace"] = namespace
        record = applied_annotation(manifest)
        try:
            current = self.api.get_nowait(cls, meta.name, namespace=namespace)
        except reconcile.NotFoundError:
            current = None
        if current is None:
            annotations = {**meta.annotations, LAST_APPLIED: record}
            new = obj.with_meta(namespace=namespace, annotations=reconcile.FrozenDict(annotations))
            return await self.api.create(new)
        previous = current.metadata.annotations.get(LAST_APPLIED)
        last = json.loads(previous) if previous else None
        patch = merge_patch(last, manifest)
        patch.pop("status", None)
        patch.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = record
        return await self.api.patch(
            cls,
            meta.name,
            reconcile.MergePatch(patch=reconcile.freeze(patch)),
            namespace=namespace,
        )

    def get(self, kind: KindRef, name: str, *, namespace: str = "default") -> Any:
        """The object, or ``None`` (``namespace`` is ignored for cluster-scoped kinds)."""
        cls = resolve_kind(kind)
        ns = namespace if reconcile.kind_of(cls).namespaced else ""
        try:
            return self.api.get_nowait(cls, name, namespace=ns)
        except reconcile.NotFoundError:
            return None

    def list(
        self,
        kind: KindRef,
        *,
        namespace: str | None = None,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Any]:
        """Matching objects sorted by namespace and name (every namespace when ``None``)."""
        cls = resolve_kind(kind)
        return list(
            self.api.list_nowait(cls, namespace=namespace, labels=labels, fields=fields).items
        )

    async def delete(
        self,
        kind: KindRef,
        name: str,
        *,
        namespace: str = "default",
        propagation: reconcile.Propagation | str | None = None,
        grace_period_seconds: int | None = None,
    ) -> Any:
        """
        Delete an object, like ``kubectl delete`` (Background propagation by default).

        Returns the object still held (by finalizers or a grace period), or ``None``.
        """
        cls = resolve_kind(kind)
        ns = namespace if reconcile.kind_of(cls).namespaced else ""
        policy = reconcile.Propagation(propagation) if isinstance(propagation, str) else propagation
        return await self.api.delete(
            cls,
            name,
            namespace=ns,
            propagation=policy or reconcile.Propagation.BACKGROUND,
            grace_period_seconds=grace_period_seconds,
        )

    def events(
        self,
        obj: reconcile.Resource | None = None,
        *,
        reason: str | None = None,
        namespace: str | None = None,
    ) -> builtins.list[Event]:
        """Events (about ``obj``, with ``reason``, when given) in the order they last happened."""
        found = []
        stored = self.api.list_nowait(Event, namespace=namespace).items
        for event in cast("Iterable[Event]", stored):
            if reason is not None and event.reason != reason:
                continue
            if obj is not None:
                ref = event.involved_object
                if (ref.uid and ref.uid != obj.metadata.uid) or ref.name != obj.metadata.name:
                    continue
            found.append(event)
        return sorted(found, key=lambda e: (_when(e), e.metadata.name))

    def dump(self, obj: reconcile.Resource) -> str:
        """``obj`` as Kubernetes YAML (what ``kubectl get -o yaml`` shows)."""
        return yaml.safe_dump(dump(obj), sort_keys=False)


def _when(event: Event) -> str:
    stamp = event.last_timestamp or event.event_time or event.metadata.creation_timestamp
    return stamp.isoformat() if stamp is not None else ""
