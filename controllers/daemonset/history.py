"""
Keeping a DaemonSet's ControllerRevisions up to date: the I/O around :mod:`.revisions`.

Before each sync (Kubernetes' ``constructHistory`` in
pkg/controller/daemon/update.go):

* the revision whose data is the DaemonSet's template (the *current* one)
  must exist: it is created as ``<name>-<hash>`` with the next number, or,
  if an older revision already holds that template (a rollback), that one
  is renumbered above every other;
* a name taken by a revision with other data is a hash collision: the
  DaemonSet's ``status.collisionCount`` is bumped, which changes the hash,
  and the sync is retried;
* duplicates of the current revision (possible only after a collision) are
  deleted, keeping the highest number.

The revision cache may lag behind these writes; a create that finds the
name taken by identical data takes that revision as current.
"""

from __future__ import annotations

import contextlib

import attrs

from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.daemonset.revisions import (
    HASH_LABEL,
    new_revision,
    revision_data,
    split_history,
    template_hash,
)
from reconcile import (
    INDEX_CONTROLLER,
    AlreadyExistsError,
    Client,
    NotFoundError,
    RetryAfter,
    Store,
)

__all__ = ["HistoryKeeper"]


class HistoryKeeper:
    """
    Creates, renumbers and deletes a DaemonSet's ControllerRevisions.

    Args:
        client: Where revisions (and a bumped collision count) are written.
        revisions: The ControllerRevision cache.
    """

    def __init__(self, client: Client, *, revisions: Store[ControllerRevision]) -> None:
        self._client = client
        self._revisions = revisions

    async def sync(self, ds: DaemonSet) -> tuple[DaemonSet, str, tuple[ControllerRevision, ...]]:
        """
        Make sure the current revision exists with the highest number.

        Returns:
            The DaemonSet (as given), the current revision's hash (the
            :data:`~controllers.daemonset.revisions.HASH_LABEL` new pods get)
            and the old revisions, lowest number first.

        Raises:
            RetryAfter: a hash collision bumped ``status.collisionCount``;
                the sync should run again at once.
        """
        owned = self._revisions.by_index(INDEX_CONTROLLER, ds.metadata.uid)
        history = split_history(ds, owned)
        number = history.next_number
        if history.current:
            current, *duplicates = history.current
            for duplicate in duplicates:
                await self.delete(duplicate)
            if current.revision < number:
                current = await self._client.update(attrs.evolve(current, revision=number))
        else:
            current = await self._create(ds, number)
        hash_ = current.metadata.labels.get(HASH_LABEL) or template_hash(ds)
        return ds, hash_, history.old

    async def _create(self, ds: DaemonSet, number: int) -> ControllerRevision:
        revision = new_revision(ds, number)
        try:
            return await self._client.create(revision)
        except AlreadyExistsError:
            pass
        existing = await self._client.get(ControllerRevision, revision.metadata.key)
        owned = any(ref.uid == ds.metadata.uid for ref in existing.metadata.owner_references)
        if owned and existing.data == revision_data(ds):
            if existing.revision < number:
                existing = await self._client.update(attrs.evolve(existing, revision=number))
            return existing
        count = (ds.status.collision_count or 0) + 1
        await self._client.update_status(
            attrs.evolve(ds, status=attrs.evolve(ds.status, collision_count=count))
        )
        raise RetryAfter(0, f"hash collision on {revision.metadata.name}: collisionCount {count}")

    async def delete(self, revision: ControllerRevision) -> None:
        """Delete ``revision`` (already gone is fine)."""
        with contextlib.suppress(NotFoundError):
            await self._client.delete(ControllerRevision, revision.metadata.key)
