"""
Expectations: what a controller is still waiting to see after its own writes.

A controller that creates N children and then reconciles again before its
informer has delivered them would count too few children and create more.
Kubernetes guards against this with ``ControllerExpectations``
(``pkg/controller/controller_utils.go``); this is the same contract:

1. Before issuing N creates for owner ``key``, call
   ``expect_creations(key, N)``; before deleting children, call
   ``expect_deletions(key, uids)`` with the uids of the children to delete.
2. When the informer delivers a created child, call ``creation_observed(key)``;
   when it delivers a deleted child, call ``deletion_observed(key, uid)``.
   A write that *failed* will never be observed: lower the expectation at once
   with the same calls (or ``lower_expectations`` for creations that were
   skipped, e.g. by a slow-start batch that stopped early).
3. A sync only *manages* children while ``satisfied(key)`` is true: when
   every expected event has been observed, when there is no record, or when
   the record is older than the TTL (5 minutes, as upstream) so a lost event
   cannot wedge a controller forever.
4. ``forget(key)`` when the owner is deleted.

Deletions are tracked by uid, as ``UIDTrackingControllerExpectations`` does:
observing the same deletion twice (a DELETED event after a delete that
reported the object gone, or a tombstone after a relist) lowers the
expectation only once, and deletions of children that were never expected
are ignored. Creations are a plain counter because a child's uid is not
known until the create returns.

All methods are synchronous and never block; the TTL is measured on the
injected :class:`~reconcile.primitives.clock.Clock`. ``raise_expectations``
and ``lower_expectations`` adjust an existing record without renewing its
timestamp (as upstream), while ``expect_*`` replace the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs
import structlog

from reconcile.model.meta import ObjectKey, Uid
from reconcile.primitives.clock import Clock

__all__ = ["DEFAULT_EXPECTATIONS_TTL", "Expectations", "ExpectationsStatistics"]

DEFAULT_EXPECTATIONS_TTL = 300.0
"""Seconds after which an unmet expectation is treated as satisfied (upstream: 5 min)."""

_log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class ExpectationsStatistics:
    """
    A snapshot of an :class:`Expectations`.

    Attributes:
        records: Keys with a record (satisfied or not).
        unsatisfied: Keys whose ``satisfied()`` is currently false.
        expired: Keys with unmet expectations that have outlived the TTL.
        pending_creations: Creations expected but not yet observed, over all keys.
        pending_deletions: Deletions expected but not yet observed, over all keys.
    """

    records: int
    unsatisfied: int
    expired: int
    pending_creations: int
    pending_deletions: int


@attrs.define(kw_only=True)
class _Record:
    creations: int
    deletions: set[Uid]
    since: float

    @property
    def fulfilled(self) -> bool:
        return self.creations <= 0 and not self.deletions


@final
@attrs.define(eq=False, kw_only=True)
class Expectations:
    """
    Per-key pending creations and deletions (see the module docstring).

    Args:
        clock: Measures the age of records.
        ttl: Seconds after which a record no longer blocks ``satisfied()``.
    """

    clock: Clock
    ttl: float = attrs.field(default=DEFAULT_EXPECTATIONS_TTL, validator=attrs.validators.gt(0))
    _records: dict[ObjectKey, _Record] = attrs.field(factory=dict, init=False)
    _owners: dict[ObjectKey, Uid] = attrs.field(factory=dict, init=False)

    def observe_owner(self, key: ObjectKey, uid: Uid) -> bool:
        """
        Note that ``key`` now names the owner of ``uid``; returns whether it changed.

        Expectations are kept by key, so when an owner is deleted and created
        again under its name between two syncs (``kubectl replace --force``),
        the new one must not wait for what was expected of the old one: the
        record is dropped (as Kubernetes drops it on the owner's delete event).
        """
        previous = self._owners.get(key)
        self._owners[key] = uid
        if previous is None or previous == uid:
            return False
        self._records.pop(key, None)
        return True

    def expect_creations(self, key: ObjectKey, count: int) -> None:
        """Replace the record of ``key``: ``count`` creations are about to be issued."""
        if count < 0:
            raise ValueError(f"count: must be >= 0, got {count}")
        self._set(key, creations=count, deletions=set())

    def expect_deletions(self, key: ObjectKey, uids: Iterable[Uid]) -> None:
        """Replace the record of ``key``: the children with ``uids`` are about to be deleted."""
        self._set(key, creations=0, deletions=set(uids))

    def creation_observed(self, key: ObjectKey) -> None:
        """One expected creation was observed (or failed); no-op without a record."""
        self.lower_expectations(key, creations=1)

    def deletion_observed(self, key: ObjectKey, uid: Uid) -> None:
        """The deletion of ``uid`` was observed (or failed); only expected uids count, once."""
        self.lower_expectations(key, deletions=(uid,))

    def raise_expectations(
        self, key: ObjectKey, *, creations: int = 0, deletions: Iterable[Uid] = ()
    ) -> None:
        """Expect more on an existing record (its age is kept); no-op without a record."""
        if creations < 0:
            raise ValueError(f"creations: must be >= 0, got {creations}")
        record = self._records.get(key)
        if record is None:
            return
        record.creations += creations
        record.deletions.update(deletions)
        _log.debug(
            "expectations.raised",
            key=str(key),
            creations=record.creations,
            deletions=len(record.deletions),
        )

    def lower_expectations(
        self, key: ObjectKey, *, creations: int = 0, deletions: Iterable[Uid] = ()
    ) -> None:
        """Expect less on an existing record (its age is kept); no-op without a record."""
        if creations < 0:
            raise ValueError(f"creations: must be >= 0, got {creations}")
        record = self._records.get(key)
        if record is None:
            return
        record.creations -= creations
        record.deletions.difference_update(deletions)
        _log.debug(
            "expectations.lowered",
            key=str(key),
            creations=record.creations,
            deletions=len(record.deletions),
        )

    def satisfied(self, key: ObjectKey) -> bool:
        """
        Whether a sync of ``key`` may manage children now.

        True when there is no record, when everything expected was observed,
        or when the record is older than ``ttl``.
        """
        record = self._records.get(key)
        if record is None or record.fulfilled:
            return True
        if self._expired(record):
            _log.debug(
                "expectations.expired",
                key=str(key),
                creations=record.creations,
                deletions=len(record.deletions),
                age=self.clock.time() - record.since,
            )
            return True
        return False

    def pending(self, key: ObjectKey) -> tuple[int, frozenset[Uid]]:
        """Creations still expected (never negative) and uids whose deletion is expected."""
        record = self._records.get(key)
        if record is None:
            return (0, frozenset())
        return (max(0, record.creations), frozenset(record.deletions))

    def forget(self, key: ObjectKey) -> None:
        """Drop the record of ``key`` (its owner is gone); no-op without one."""
        self._records.pop(key, None)
        self._owners.pop(key, None)

    def statistics(self) -> ExpectationsStatistics:
        """Counts over every record (see :class:`ExpectationsStatistics`)."""
        unmet = [r for r in self._records.values() if not r.fulfilled]
        expired = sum(1 for r in unmet if self._expired(r))
        return ExpectationsStatistics(
            records=len(self._records),
            unsatisfied=len(unmet) - expired,
            expired=expired,
            pending_creations=sum(max(0, r.creations) for r in self._records.values()),
            pending_deletions=sum(len(r.deletions) for r in self._records.values()),
        )

    def _set(self, key: ObjectKey, *, creations: int, deletions: set[Uid]) -> None:
        self._records[key] = _Record(
            creations=creations, deletions=deletions, since=self.clock.time()
        )
        _log.debug("expectations.set", key=str(key), creations=creations, deletions=len(deletions))

    def _expired(self, record: _Record) -> bool:
        return self.clock.time() - record.since > self.ttl
