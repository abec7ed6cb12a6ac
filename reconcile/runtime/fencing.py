"""
Fenced writes: a deposed leader's late writes are refused, not applied.

Leader election alone cannot stop a leader that was paused (a long GC pause,
``SIGSTOP``, a VM migration) from writing once it resumes: until its own clock
tells it the renew deadline has passed, it still believes it leads, while a
standby may have taken the lease over long ago. A *fence* closes that gap. It
is the pair (holder identity, ``leaseTransitions``) the writer acquired the
lease with, a fencing token in Martin Kleppmann's sense: ``leaseTransitions``
goes up by one at every change of holder, so it names the term.

:class:`FencedClient` wraps a :class:`~reconcile.cluster.client.Client`.
Reads and watches pass through. Before every write (``create``, ``update``,
``update_status``, ``patch``, ``delete``) it

1. asks its :class:`Fence` whether the writer believes it leads now (and in
   which term), refusing at once when it does not;
2. reads the Lease fresh from the API (``get``, never a cache);
3. refuses unless the Lease still names this writer with the same
   ``leaseTransitions``, telling the fence (the elector then stops leading at
   once: a refused write is proof that another replica leads);
4. sends the write.

Refusals raise :class:`~reconcile.errors.FencedError` (a ``ConflictError``).

Guarantees and limits: on the in-memory cluster steps 2 to 4 are atomic, because
no :class:`~reconcile.cluster.memory.MemoryCluster` method suspends, so nothing
can run between the check and the write. Over a remote backend the check
narrows the window to one round trip; a backend that can make the write
conditional on the Lease (an etcd transaction comparing the Lease's revision)
would close it entirely. Kubernetes' controllers have no such fence: client-go
relies on the renew deadline alone, which a paused process cannot honour.

The planted bug ``leaderelection.no-fencing`` lets every write through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypeVar, final

import attrs

from reconcile.cluster.client import (
    Client,
    Fields,
    ObjectList,
    Patch,
    Preconditions,
    Propagation,
    Selector,
    WatchEvent,
)
from reconcile.errors import FencedError, NotFoundError
from reconcile.model.coordination import Lease
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ResourceVersion
from reconcile.planted import declare, planted

__all__ = ["NO_FENCING", "Fence", "FencedClient", "FencingStatistics", "Term"]

R = TypeVar("R", bound=Resource)

NO_FENCING = declare(
    "leaderelection.no-fencing",
    component="leader-election",
    description="a fenced client lets every write through, also a deposed leader's",
).name


@attrs.frozen(kw_only=True)
class Term:
    """The fencing token a leader acquired its lease with: holder and ``leaseTransitions``."""

    identity: str
    transitions: int


class Fence(Protocol):
    """**Protocol:** what a :class:`FencedClient` asks before each write (a ``LeaderElector``)."""

    @property
    def lease(self) -> ObjectKey:
        """The Lease whose holder may write."""
        ...

    @property
    def identity(self) -> str:
        """The writer's identity (for error messages)."""
        ...

    def term(self) -> Term | None:
        """The term this writer believes it leads in *now*, or ``None`` if it does not lead."""
        ...

    def fenced_out(self, holder: str | None, transitions: int | None) -> None:
        """Told that a write was refused because the Lease names another holder or term."""
        ...


@attrs.frozen(kw_only=True)
class FencingStatistics:
    """Writes a :class:`FencedClient` let through and refused."""

    allowed: int
    refused: int


@final
class FencedClient:
    """
    A :class:`~reconcile.cluster.client.Client` whose writes need the lease (see the module).

    Args:
        client: The backend; also where the Lease is read.
        fence: The writer's view of its leadership (a ``LeaderElector``).
    """

    def __init__(self, client: Client, fence: Fence) -> None:
        self._client = client
        self._fence = fence
        self._allowed = 0
        self._refused = 0

    def statistics(self) -> FencingStatistics:
        """How many writes were let through and refused."""
        return FencingStatistics(allowed=self._allowed, refused=self._refused)

    # -- reads and watches pass through ------------------------------------------------------

    async def get(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        return await self._client.get(kind, key, namespace=namespace)

    async def list(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> ObjectList[R]:
        return await self._client.list(kind, namespace=namespace, labels=labels, fields=fields)

    def watch(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
        since: ResourceVersion | None = None,
        bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent[R]]:
        return self._client.watch(
            kind, namespace=namespace, labels=labels, fields=fields, since=since,
            bookmarks=bookmarks,
        )  # fmt: skip

    # -- writes are fenced -------------------------------------------------------------------

    async def create(self, obj: R) -> R:
        await self._check("create", obj.metadata.name)
        return await self._client.create(obj)

    async def update(self, obj: R) -> R:
        await self._check("update", obj.metadata.name)
        return await self._client.update(obj)

    async def update_status(self, obj: R) -> R:
        await self._check("update_status", obj.metadata.name)
        return await self._client.update_status(obj)

    async def patch(
        self,
        kind: type[R],
        key: ObjectKey | str,
        patch: Patch,
        *,
        namespace: str = "",
        status: bool = False,
    ) -> R:
        await self._check("patch", _name(key))
        return await self._client.patch(kind, key, patch, namespace=namespace, status=status)

    async def delete(
        self,
        kind: type[R],
        key: ObjectKey | str,
        *,
        namespace: str = "",
        propagation: Propagation | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
    ) -> R | None:
        await self._check("delete", _name(key))
        return await self._client.delete(
            kind, key, namespace=namespace, propagation=propagation,
            preconditions=preconditions, grace_period_seconds=grace_period_seconds,
        )  # fmt: skip

    async def _check(self, verb: str, name: str) -> None:
        """Refuse the write unless this writer leads in the term the Lease records."""
        if planted(NO_FENCING):
            self._allowed += 1
            return
        fence = self._fence
        lease_key = fence.lease
        where = f"lease {lease_key.namespace}/{lease_key.name}"
        if fence.term() is None:
            self._refused += 1
            raise FencedError(f"{verb} {name!r} refused: {fence.identity} does not hold {where}")
        try:
            spec = (await self._client.get(Lease, lease_key)).spec
            holder, transitions = spec.holder_identity, spec.lease_transitions or 0
        except NotFoundError:
            holder, transitions = None, None
        # Read again after the await: over a remote backend the belief may have
        # ended during the round trip; in memory nothing ran in between.
        term = fence.term()
        if term is None or (holder, transitions) != (term.identity, term.transitions):
            self._refused += 1
            if term is not None:
                fence.fenced_out(holder, transitions)
            mine = "no term" if term is None else f"term {term.transitions}"
            raise FencedError(
                f"{verb} {name!r} refused: {where} is held by {holder!r} "
                f"(transitions {transitions}), not by {fence.identity!r} ({mine})"
            )
        self._allowed += 1


def _name(key: ObjectKey | str) -> str:
    return key.name if isinstance(key, ObjectKey) else key
