"""
Completion indexes of Indexed Jobs: the pod's index and the interval lists of the status.

``status.completedIndexes`` (and ``failedIndexes``) hold sorted indexes
compressed into intervals, ``"1,3-5,7"``. Kubernetes: ``indexed_job_utils.go``
in pkg/controller/job (``getCompletionIndex``, ``succeededIndexesFromString``,
``orderedIntervals.String``, ``firstPendingIndexes``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from controllers.api.core import Pod

__all__ = [
    "COMPLETION_INDEX",
    "COMPLETION_INDEX_ENV",
    "completion_index",
    "first_pending_indexes",
    "format_intervals",
    "parse_intervals",
]

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
"""The annotation (and label) carrying a pod's completion index."""

COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
"""The environment variable every container of an Indexed Job's pod gets (from the label)."""


def completion_index(pod: Pod) -> int | None:
    """
    The completion index of ``pod`` from its annotation (else its label); ``None`` if invalid.

    Only a plain non-negative decimal is an index.
    """
    text = pod.metadata.annotations.get(COMPLETION_INDEX)
    if text is None:
        text = pod.metadata.labels.get(COMPLETION_INDEX)
    if text is None or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def format_intervals(indexes: Iterable[int]) -> str:
    """
    ``indexes`` as a compressed interval list: ``{1, 3, 4, 5, 7, 8}`` -> ``"1,3-5,7,8"``.

    Runs of three or more become ``first-last``; a run of two is listed as
    two indexes, as Kubernetes writes it (``orderedIntervals.String``).
    Duplicates are ignored; the empty set is ``""``.

    Raises:
        ValueError: if an index is negative.
    """
    ordered = sorted(set(indexes))
    if ordered and ordered[0] < 0:
        raise ValueError(f"indexes: must be >= 0, got {ordered[0]}")
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        first = last = ordered[i]
        while i + 1 < len(ordered) and ordered[i + 1] == last + 1:
            i += 1
            last = ordered[i]
        if first == last:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")  # a pair is listed, as upstream writes it
        else:
            parts.append(f"{first}-{last}")
        i += 1
    return ",".join(parts)


def parse_intervals(text: str, *, completions: int | None = None) -> frozenset[int]:
    """
    The indexes of an interval list such as ``"1,3-5,7"``.

    Indexes at or above ``completions`` (when given) are dropped, as upstream
    drops them when completions shrink.

    Raises:
        ValueError: if ``text`` is not an interval list, naming the bad part.
    """
    found: set[int] = set()
    if not text:
        return frozenset()
    for part in text.split(","):
        first_text, dash, last_text = part.partition("-")
        if not _is_index(first_text) or (dash and not _is_index(last_text)):
            raise ValueError(f"completedIndexes: invalid interval {part!r} in {text!r}")
        first = int(first_text)
        last = int(last_text) if dash else first
        if last < first:
            raise ValueError(f"completedIndexes: interval {part!r} ends before it starts")
        if completions is not None:
            last = min(last, completions - 1)
        found.update(range(first, last + 1))
    return frozenset(found)


def _is_index(text: str) -> bool:
    return text.isascii() and text.isdigit()


def first_pending_indexes(
    completions: int, count: int, *, succeeded: Collection[int], active: Collection[int]
) -> tuple[int, ...]:
    """
    The ``count`` lowest indexes below ``completions`` that neither succeeded nor are active.

    Kubernetes: ``firstPendingIndexes``.
    """
    found: list[int] = []
    index = 0
    while len(found) < count and index < completions:
        if index not in succeeded and index not in active:
            found.append(index)
        index += 1
    return tuple(found)
