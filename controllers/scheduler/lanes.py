"""
Per class of pods, every node's verdict, resource score and owner count, kept up to date.

Pure data, no I/O. A *lane* holds, for one class of pods (same filter
verdicts, same requests, same controller owner) and for every node by its
index in name order: whether the node passes the filters, its
``LeastAllocated`` score and how many pods of the owner it holds. Between
two pods of a burst only the node the first was bound to changes, so
:class:`Lanes` keeps a log of the nodes whose
:class:`~controllers.scheduler.snapshot.NodeInfo` the
:class:`~controllers.scheduler.cache.Cache` rebuilt, and brings a lane up
to date by refreshing just those entries. A cycle then reads its window of
nodes as list slices (:func:`controllers.scheduler.fast.choose`) instead of
visiting each node.

A lane serves only the newest snapshot of its cache (:meth:`Lanes.serves`):
an older snapshot must not see newer state. A change of the node set drops
every lane; so does a log grown past :data:`MAX_LOG` (rebuilt on next use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from controllers.scheduler.snapshot import NodeInfo

__all__ = ["MAX_LANES", "MAX_LOG", "Lane", "LaneKey", "Lanes", "NodeFacts"]

LaneKey = tuple[int, int, tuple[str, str] | None]
"""(verdict memo key, resource score memo key, owner's (namespace, uid) or ``None``)."""
NodeFacts = Callable[[str, NodeInfo], tuple[bool, int, int]]
"""A node's (fits, resource score, owner count), given its name and info."""

MAX_LANES = 32
"""Lanes kept at once; the least recently built goes first."""
MAX_LOG = 65_536
"""Changed-node entries kept before the log is dropped and lanes rebuilt on use."""


class Lane:
    """One class's facts per node index (see the module docstring); read-only for users."""

    __slots__ = ("count", "fits", "score", "synced", "unfit")

    def __init__(self, size: int) -> None:
        self.fits: list[bool] = [False] * size
        self.score: list[int] = [0] * size
        self.count: list[int] = [0] * size
        self.unfit = size
        """How many nodes do not pass the filters."""
        self.synced = 0

    def put(self, i: int, facts: tuple[bool, int, int]) -> None:
        fits, self.score[i], self.count[i] = facts
        if fits != self.fits[i]:
            self.fits[i] = fits
            self.unfit += -1 if fits else 1


class Lanes:
    """The lanes of one cache, and the log of the nodes it rebuilt."""

    def __init__(self) -> None:
        self._names: tuple[str, ...] = ()
        self._index: dict[str, int] = {}
        self._log: list[str] = []
        self._base = 0  # the log position of ``_log[0]``
        self._lanes: dict[LaneKey, Lane] = {}

    @property
    def version(self) -> int:
        """The log position a snapshot taken now is at."""
        return self._base + len(self._log)

    def reset(self, names: Sequence[str]) -> None:
        """The node set changed: forget every lane."""
        self._names = tuple(names)
        self._index = {name: i for i, name in enumerate(self._names)}
        self._lanes.clear()
        self._base += len(self._log)
        self._log.clear()

    def changed(self, names: Iterable[str]) -> None:
        """Record nodes whose info was rebuilt."""
        self._log.extend(names)
        if len(self._log) > MAX_LOG:
            self._lanes.clear()
            self._base += len(self._log)
            self._log.clear()

    def serves(self, names: Sequence[str], version: int) -> bool:
        """Whether a snapshot of ``names`` taken at ``version`` is the newest one."""
        return version == self.version and names == self._names

    def lane(self, key: LaneKey, infos: Mapping[str, NodeInfo], facts: NodeFacts) -> Lane:
        """The lane of ``key``, up to date with ``infos`` (the newest snapshot's)."""
        lane = self._lanes.get(key)
        if lane is None or lane.synced < self._base:
            if len(self._lanes) >= MAX_LANES:
                del self._lanes[next(iter(self._lanes))]
            lane = self._lanes[key] = Lane(len(self._names))
            for i, name in enumerate(self._names):
                lane.put(i, facts(name, infos[name]))
        else:
            index = self._index
            for name in set(self._log[lane.synced - self._base :]):
                at = index.get(name)
                if at is not None:
                    lane.put(at, facts(name, infos[name]))
        lane.synced = self.version
        return lane
