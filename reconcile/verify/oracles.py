"""
Oracles: what must hold of a run, independent of the kinds involved.

* :class:`State` is the read-only view invariants receive: the API
  server's objects right now.
* :func:`orphans`: objects whose every owner is gone (garbage collection
  should have removed them).
* :func:`canonical`: the end state with everything a run may legitimately
  vary removed (uids, resource versions, timestamps, generated name
  suffixes, event objects), as a sorted list of JSON lines, so two runs of
  the same user actions, one with faults and one without, compare equal
  when the faults changed nothing that matters (Sieve's differential
  oracle).
* :func:`further_pass`: resync every controller once more and report the
  writes it made; a converged system makes none (fixpoint), and the
  reconciles it took must stay within a bound (no hot loop).
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar, final

import attrs

from reconcile.cluster.client import EventType, ObjectList, WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.convert import to_json
from reconcile.model.kinds import Resource, kind_of
from reconcile.runtime.manager import Manager

__all__ = ["FurtherPass", "State", "canonical", "further_pass", "orphans"]

R = TypeVar("R", bound=Resource)


@final
class State:
    """A read-only view of the API server's current objects, for invariants."""

    def __init__(self, server: MemoryCluster) -> None:
        self._server = server

    def list(
        self, kind: type[R], *, namespace: str | None = None, labels: str | None = None
    ) -> tuple[R, ...]:
        """Every object of ``kind`` (filtered as a ``list`` call), sorted by key."""
        if kind not in self._server.kinds():
            return ()
        listing: ObjectList[R] = self._server.list_nowait(kind, namespace=namespace, labels=labels)
        return listing.items

    def get(self, kind: type[R], name: str, namespace: str = "") -> R | None:
        """The object, or ``None``."""
        for obj in self.list(kind, namespace=namespace or None):
            if obj.metadata.name == name:
                return obj
        return None

    def all(self) -> builtins.list[Resource]:
        """Every object of every kind."""
        return [obj for kind in self._server.kinds() for obj in self.list(kind)]

    @property
    def server(self) -> MemoryCluster:
        return self._server


def orphans(state: State, *, kinds: Iterable[type[Resource]] | None = None) -> list[str]:
    """Objects (``Kind ns/name``) that have owners, none of which exists (by uid)."""
    everything = state.all()
    uids = {obj.metadata.uid for obj in everything}
    wanted = None if kinds is None else set(kinds)
    return [
        f"{kind_of(type(obj)).kind} {obj.metadata.key}"
        for obj in everything
        if (wanted is None or type(obj) in wanted)
        and obj.metadata.owner_references
        and obj.metadata.deletion_timestamp is None
        and not any(ref.uid in uids for ref in obj.metadata.owner_references)
    ]


_VOLATILE_META = (
    "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation",
    "managedFields", "selfLink",
)  # fmt: skip
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _scrub(value: Any, generated: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, generated) for k, v in value.items() if k not in _VOLATILE_META}
    if isinstance(value, list):
        return [_scrub(v, generated) for v in value]
    if isinstance(value, str):
        if _TIMESTAMP.match(value):
            return "<time>"
        if _UID.match(value):
            return "<uid>"
        return generated.get(value, value)
    return value


def _stand_ins(objects: Iterable[Resource]) -> dict[str, str]:
    """
    Each generated name -> ``<generateName>*``, where a ``generateName`` built
    on a generated name (a child named after its generated parent) has that
    part replaced too, and so does the ``generateName`` value itself.
    """
    made = {
        obj.metadata.name: obj.metadata.generate_name
        for obj in objects
        if obj.metadata.generate_name and obj.metadata.name.startswith(obj.metadata.generate_name)
    }

    def base(prefix: str) -> str:
        # A generated name is longer than its own generateName, so this recursion ends.
        parent = max((name for name in made if prefix.startswith(name)), key=len, default="")
        return f"{base(made[parent])}*{prefix[len(parent) :]}" if parent else prefix

    stand_ins = {name: f"{base(prefix)}*" for name, prefix in made.items()}
    stand_ins.update({prefix: base(prefix) for prefix in made.values() if base(prefix) != prefix})
    return stand_ins


def canonical(
    state: State,
    *,
    ignore: Callable[[Resource], bool] = lambda obj: False,
    project: Callable[[Resource, dict[str, Any]], dict[str, Any]] | None = None,
) -> list[str]:
    """
    The end state as sorted JSON lines, minus what runs may vary (see the module docstring).

    Names made from ``generateName`` become ``<generateName>*``, wherever
    they appear (a pod's name and an owner reference to it alike), also
    inside the ``generateName`` of a child named after a generated parent.
    ``ignore`` drops objects entirely; ``project`` may rewrite each scrubbed
    object (drop fields a fault legitimately changes, such as restart counts).
    """
    objects = [obj for obj in state.all() if not ignore(obj)]
    generated = _stand_ins(objects)
    lines = []
    for obj in objects:
        data = _scrub(to_json(obj), generated)
        if project is not None:
            data = project(obj, data)
        lines.append(json.dumps(data, sort_keys=True, separators=(",", ":")))
    return sorted(lines)


@attrs.frozen(kw_only=True)
class FurtherPass:
    """What one more pass of every controller did: its writes and reconciles."""

    writes: tuple[str, ...]
    reconciles: int
    keys: int


async def further_pass(
    server: MemoryCluster,
    managers: Iterable[Manager],
    settle: Callable[[], Awaitable[float]],
    *,
    ignore: Callable[[Resource], bool] = lambda obj: False,
) -> FurtherPass:
    """
    Resync every controller of ``managers``, settle, and report the writes
    (``TYPE Kind ns/name``, except of objects ``ignore`` accepts) and reconciles it took.
    """
    writes: list[str] = []

    def record(event: WatchEvent[Resource]) -> None:
        obj = event.object
        if event.type is EventType.BOOKMARK or obj is None or ignore(obj):
            return
        writes.append(f"{event.type.value} {kind_of(type(obj)).kind} {obj.metadata.key}")

    chosen = list(managers)

    def reconciles() -> int:
        return sum(c.reconciles for m in chosen for c in m.statistics().controllers)

    before = reconciles()
    server.on_commit.append(record)
    try:
        keys = sum(manager.resync() for manager in chosen)
        await settle()
    finally:
        server.on_commit.remove(record)
    return FurtherPass(writes=tuple(writes), reconciles=reconciles() - before, keys=keys)
