"""
The annotation and label keys that rollouts are recorded in.

The Deployment controller writes the ``deployment.kubernetes.io/*`` keys;
kubectl reads them (history, undo) and writes ``kubernetes.io/change-cause``
and ``kubectl.kubernetes.io/restartedAt``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The Deployment controller's own keys: one definition, where they are written.
from controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
    REVISION_HISTORY,
)

__all__ = [
    "CHANGE_CAUSE",
    "DESIRED_REPLICAS",
    "LAST_APPLIED",
    "MAX_REPLICAS",
    "POD_TEMPLATE_HASH",
    "RESTARTED_AT",
    "REVISION",
    "REVISION_HISTORY",
    "ROLLBACK_KEEPS",
    "ROLLBACK_TO",
    "revision_of",
]

ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

CHANGE_CAUSE = "kubernetes.io/change-cause"
"""Why a revision was made (kubectl's former ``--record``); ``rollout history`` shows it."""

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
"""Pod-template annotation ``rollout restart`` sets to the current time (RFC 3339)."""

ROLLBACK_KEEPS = frozenset(
    {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
)
"""
Deployment annotations an undo keeps from the Deployment itself; every other
annotation is replaced by the ReplicaSet's.
"""


def revision_of(annotations: Mapping[str, str]) -> int:
    """
    The revision recorded in ``annotations``; ``0`` when there is none.

    Raises:
        ValueError: the annotation is not a decimal integer.
    """
    text = annotations.get(REVISION)
    if text is None:
        return 0
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"invalid revision {text!r}: not an integer")
    return int(text)


# As Go's strconv.ParseInt: an optional sign and ASCII digits, nothing else.
_INTEGER = re.compile(r"[+-]?[0-9]+")
