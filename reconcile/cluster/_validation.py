"""
Object metadata validation, as the Kubernetes API server does it.

Each function returns a list of :class:`~reconcile.errors.FieldError` naming
the JSON path of every problem (``metadata.labels``,
``metadata.ownerReferences[0].uid``); an empty list means valid. The server
joins them into one :class:`~reconcile.errors.InvalidError`.

On update only the fields that changed are checked (:func:`validate_update`),
so rewriting an object without touching its labels costs nothing here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping

from reconcile.errors import FieldError
from reconcile.model.meta import ObjectMeta, OwnerReference
from reconcile.model.selectors import validate_label_key, validate_label_value

__all__ = [
    "generate_name",
    "validate_create",
    "validate_name",
    "validate_namespace",
    "validate_update",
]

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_ANNOTATIONS_MAX_BYTES = 256 * 1024
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet
_SUFFIX_LENGTH = 5
_MAX_GENERATED_PREFIX = 63 - _SUFFIX_LENGTH


def validate_name(name: str, field: str = "metadata.name") -> list[FieldError]:
    """A DNS subdomain of at most 253 characters (most kinds' object names)."""
    if not name:
        return [
            FieldError(
                field=field, type="Required value", detail="name or generateName is required"
            )
        ]
    if len(name) > 253:
        return [
            FieldError(field=field, type="Too long", detail="must be no more than 253 characters")
        ]
    if not _DNS_SUBDOMAIN.fullmatch(name):
        return [FieldError(field=field, value=name, detail=_SUBDOMAIN_RULE)]
    return []


def validate_namespace(namespace: str, field: str = "metadata.namespace") -> list[FieldError]:
    """A DNS label of at most 63 characters."""
    if not namespace:
        return [FieldError(field=field, type="Required value")]
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        return [FieldError(field=field, value=namespace, detail=_LABEL_RULE)]
    return []


def _check(check: Callable[[str], None], field: str, value: str) -> FieldError | None:
    try:
        check(value)
    except ValueError as exc:
        return FieldError(field=field, value=value, detail=str(exc))
    return None


def _labels(labels: Mapping[str, str]) -> list[FieldError]:
    causes = []
    for key, value in labels.items():
        if (cause := _check(validate_label_key, "metadata.labels", key)) is not None:
            causes.append(cause)
        if (cause := _check(validate_label_value, f"metadata.labels[{key}]", value)) is not None:
            causes.append(cause)
    return causes


def _annotations(annotations: Mapping[str, str]) -> list[FieldError]:
    causes = [
        cause
        for key in annotations
        if (cause := _check(validate_label_key, "metadata.annotations", key)) is not None
    ]
    size = sum(len(k) + len(v) for k, v in annotations.items())
    if size > _ANNOTATIONS_MAX_BYTES:
        causes.append(
            FieldError(
                field="metadata.annotations",
                type="Too long",
                detail=f"may not be more than {_ANNOTATIONS_MAX_BYTES} bytes",
            )
        )
    return causes


def _owner_references(refs: Iterable[OwnerReference]) -> list[FieldError]:
    causes = []
    controllers = []
    for i, ref in enumerate(refs):
        for attr, json_name in (
            ("api_version", "apiVersion"),
            ("kind", "kind"),
            ("name", "name"),
            ("uid", "uid"),
        ):
            if not getattr(ref, attr):
                causes.append(
                    FieldError(
                        field=f"metadata.ownerReferences[{i}].{json_name}", type="Required value"
                    )
                )
        if ref.controller:
            controllers.append(ref.name)
    if len(controllers) > 1:
        causes.append(
            FieldError(
                field="metadata.ownerReferences",
                value=controllers,
                detail="Only one reference can have Controller set to true",
            )
        )
    return causes


def _finalizers(finalizers: Iterable[str]) -> list[FieldError]:
    return [
        cause
        for i, name in enumerate(finalizers)
        if (cause := _check(validate_label_key, f"metadata.finalizers[{i}]", name)) is not None
    ]


def validate_create(meta: ObjectMeta, *, name: str, namespaced: bool) -> list[FieldError]:
    """
    The metadata of an object being created as ``name`` (its own or a generated one).

    Checks the name, the namespace (only for namespaced kinds), that no
    resource version is set, then labels, annotations, owner references and
    finalizers.
    """
    causes = validate_name(name)
    if namespaced:
        causes += validate_namespace(meta.namespace)
    if meta.resource_version:
        causes.append(
            FieldError(
                field="metadata.resourceVersion",
                type="Forbidden",
                detail="must not be set on objects to be created",
            )
        )
    if meta.labels:
        causes += _labels(meta.labels)
    if meta.annotations:
        causes += _annotations(meta.annotations)
    if meta.owner_references:
        causes += _owner_references(meta.owner_references)
    if meta.finalizers:
        causes += _finalizers(meta.finalizers)
    return causes


def validate_update(new: ObjectMeta, old: ObjectMeta) -> list[FieldError]:
    """
    The client-owned metadata that changed from ``old`` to ``new``.

    Also enforces Kubernetes' rule that no finalizer may be added to an
    object whose deletion has started.
    """
    causes = []
    if new.labels is not old.labels and new.labels != old.labels:
        causes += _labels(new.labels)
    if new.annotations is not old.annotations and new.annotations != old.annotations:
        causes += _annotations(new.annotations)
    if (
        new.owner_references is not old.owner_references
        and new.owner_references != old.owner_references
    ):
        causes += _owner_references(new.owner_references)
    if new.finalizers is not old.finalizers and new.finalizers != old.finalizers:
        causes += _finalizers(new.finalizers)
        if old.deletion_timestamp is not None:
            added = sorted(set(new.finalizers) - set(old.finalizers))
            if added:
                causes.append(
                    FieldError(
                        field="metadata.finalizers",
                        type="Forbidden",
                        detail="no new finalizers can be added if the object is being deleted, "
                        f"found new finalizers {added!r}",
                    )
                )
    return causes


def generate_name(prefix: str, rng: random.Random, taken: Callable[[str], bool]) -> str:
    """
    ``prefix`` plus a random five-character suffix that ``taken`` rejects not.

    The prefix is cut to 58 characters first, as Kubernetes does, so the
    result fits a 63-character name.
    """
    prefix = prefix[:_MAX_GENERATED_PREFIX]
    while True:
        name = prefix + "".join(rng.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LENGTH))
        if not taken(name):
            return name
