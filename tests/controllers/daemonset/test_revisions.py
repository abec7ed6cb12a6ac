"""A DaemonSet's ControllerRevisions: naming, matching, history cleanup, hash collisions."""

from __future__ import annotations

import attrs

import reconcile
from controllers import Cluster, run
from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.api.defaults import default_daemon_set
from controllers.daemonset import (
    HASH_LABEL,
    history_to_delete,
    new_revision,
    revision_data,
    split_history,
    template_hash,
)
from tests.controllers.daemonset.builders import daemonset, pod


def _revision(image: str, number: int) -> ControllerRevision:
    return new_revision(daemonset(image=image), number)


def test_new_revision_is_named_labelled_and_owned() -> None:
    """``<name>-<hash>``, labelled like the template plus the hash, controlled by the set."""
    ds = daemonset()
    revision = new_revision(ds, 4)
    hash_ = template_hash(ds)
    assert f"agent-{hash_}" == revision.metadata.name
    assert {"app": "agent", HASH_LABEL: hash_} == dict(revision.metadata.labels)
    assert ds.metadata.uid == revision.metadata.owner_references[0].uid
    assert 4 == revision.revision
    assert revision_data(ds) == revision.data


def test_hash_changes_with_template_and_collision_count() -> None:
    """A new image or a bumped collision count gives a new hash; the same template the same."""
    ds = daemonset()
    assert template_hash(ds) == template_hash(daemonset())
    assert template_hash(ds) != template_hash(daemonset(image="agent:2"))
    bumped = attrs.evolve(ds, status=attrs.evolve(ds.status, collision_count=1))
    assert template_hash(ds) != template_hash(bumped)


def test_split_history_finds_the_current_revision() -> None:
    """The revision holding the set's template is current; the others are old, by number."""
    old2, current, old1 = _revision("agent:0", 2), _revision("agent:1", 3), _revision("agent:x", 1)
    history = split_history(daemonset(), [old2, current, old1])
    assert (current,) == history.current
    assert (old1, old2) == history.old
    assert 3 == history.next_number


def test_history_cleanup_skips_revisions_live_pods_use() -> None:
    """Over the limit, the lowest numbers go first, skipping (not replacing) those pods carry."""
    ds = daemonset(history_limit=1)
    old = [_revision(f"agent:{i}", i) for i in range(1, 5)]
    in_use = pod(ds, "n1", hash_=old[0].metadata.labels[HASH_LABEL])
    victims = history_to_delete(ds, old, [in_use])
    assert [2, 3, 4] == [r.revision for r in victims]


def test_history_limit_zero_deletes_every_unused_old_revision() -> None:
    """``revisionHistoryLimit: 0`` keeps no old revision."""
    ds = daemonset(history_limit=0)
    old = [_revision(f"agent:{i}", i) for i in range(1, 3)]
    assert old == list(history_to_delete(ds, old, []))


def test_hash_collision_bumps_collision_count() -> None:
    """A revision name taken by other data bumps ``collisionCount`` and uses a new name."""
    ds = attrs.evolve(daemonset(), metadata=reconcile.ObjectMeta(name="agent", namespace="default"))

    async def body(cluster: Cluster) -> None:
        squatter = ControllerRevision(
            metadata=reconcile.ObjectMeta(
                name=f"agent-{template_hash(default_daemon_set(ds))}", namespace="default"
            ),
            data=reconcile.freeze({"other": True}),
            revision=1,
        )
        await cluster.api.create(squatter)
        await cluster.api.create(ds)
        await cluster.settle()
        stored = cluster.get("ds", "agent")
        assert isinstance(stored, DaemonSet)
        assert 1 == stored.status.collision_count
        names = {r.metadata.name for r in cluster.list("controllerrevisions")}
        assert {squatter.metadata.name, f"agent-{template_hash(stored)}"} == names
        assert 3 == stored.status.number_available

    async def main() -> None:
        async with Cluster(nodes=3, seed=2) as cluster:
            await body(cluster)

    run(main)
