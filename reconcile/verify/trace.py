"""
Traces: every write, watch delivery, fault and step of a run, as JSON lines.

A :class:`Trace` is the sink :class:`~reconcile.cluster.faulty.FaultyClient`
reports to, and it also follows the API server's commits. Entries are
plain mappings, serialised with sorted keys and no spaces, so two runs of
the same seed give byte-identical files; :func:`diff` finds where two runs
part. Times are virtual seconds since the clock's start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, final

import attrs

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.kinds import Resource, kind_of
from reconcile.primitives.clock import Clock

__all__ = ["Divergence", "Trace", "diff"]


def _line(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)


@final
class Trace:
    """
    An ordered record of one run (see the module docstring).

    Args:
        clock: Stamps entries that carry no ``t`` of their own.
        keep: Keep the lines in memory (needed for :meth:`save` and
            :func:`diff`); the digest is computed either way.
    """

    def __init__(self, *, clock: Clock | None = None, keep: bool = True) -> None:
        self._clock = clock
        self._keep = keep
        self._hash = hashlib.sha256()
        self.lines: list[str] = []
        self.count = 0

    def __call__(self, entry: Mapping[str, Any]) -> None:
        """Record one entry (the :data:`~reconcile.cluster.faulty.Record` signature)."""
        if "t" not in entry and self._clock is not None:
            entry = {"t": self._clock.time(), **entry}
        line = _line(entry)
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.count += 1
        if self._keep:
            self.lines.append(line)

    def follow(self, server: MemoryCluster) -> None:
        """Record every commit of ``server`` (kind, type, key, resource version)."""
        server.on_commit.append(self._commit)

    def _commit(self, event: WatchEvent[Resource]) -> None:
        if event.type is EventType.BOOKMARK or event.object is None:
            return
        self(
            {
                "commit": event.type.value,
                "kind": kind_of(type(event.object)).kind,
                "key": str(event.object.metadata.key),
                "rv": str(event.resource_version),
            }
        )

    def digest(self) -> str:
        """SHA-256 over every line so far."""
        return self._hash.hexdigest()

    def entries(self) -> list[dict[str, Any]]:
        """The kept entries, parsed."""
        return [json.loads(line) for line in self.lines]

    def save(self, path: str | Path) -> Path:
        """Write the kept lines to ``path`` (JSON lines) and return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in self.lines))
        return path

    @staticmethod
    def load(path: str | Path) -> list[str]:
        """The lines of a saved trace."""
        return Path(path).read_text().splitlines()


@attrs.frozen(kw_only=True)
class Divergence:
    """Where two traces part: the 0-based line and each side's line (``None`` past its end)."""

    line: int
    left: str | None
    right: str | None

    def __str__(self) -> str:
        return f"traces differ at line {self.line + 1}:\n  - {self.left}\n  + {self.right}"


def diff(left: Iterable[str], right: Iterable[str]) -> Divergence | None:
    """The first difference between two traces, or ``None`` when they are identical."""
    a, b = list(left), list(right)
    for index in range(max(len(a), len(b))):
        x = a[index] if index < len(a) else None
        y = b[index] if index < len(b) else None
        if x != y:
            return Divergence(line=index, left=x, right=y)
    return None
