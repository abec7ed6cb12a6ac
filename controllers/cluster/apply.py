"""
``kubectl apply`` semantics: a three-way merge through the last applied configuration.

The manifest a user applies is remembered in the annotation
``kubectl.kubernetes.io/last-applied-configuration``. The next apply sends a
JSON merge patch (RFC 7386) computed from that *last applied* manifest to
the *new* one: fields the user sets are written, fields the user removed
from the manifest are removed, and fields the user never managed (set by
defaulting or by controllers, such as a Deployment's ``spec.replicas``
under an autoscaler) are left alone. Lists are replaced whole, as in a JSON
merge patch (``kubectl``'s strategic merge would merge some lists by key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["LAST_APPLIED", "applied_annotation", "merge_patch"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def applied_annotation(manifest: Mapping[str, Any]) -> str:
    """The annotation value recording ``manifest`` (compact JSON, keys sorted, itself left out)."""
    document = json.loads(json.dumps(manifest))
    annotations = document.get("metadata", {}).get("annotations", {})
    annotations.pop(LAST_APPLIED, None)
    if not annotations and "annotations" in document.get("metadata", {}):
        del document["metadata"]["annotations"]
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def merge_patch(last: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """
    The merge patch taking what ``last`` set to what ``new`` sets.

    Keys of ``new`` are set (nested mappings recursively); keys in ``last``
    but not in ``new`` become ``null`` (removed); other keys are not touched.
    """
    last = last or {}
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = last.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            patch[key] = merge_patch(before, value)
        else:
            patch[key] = value
    for key in last:
        if key not in new:
            patch[key] = None
    return patch
