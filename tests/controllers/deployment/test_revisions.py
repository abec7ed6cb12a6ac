"""Revision numbering, the revision history annotation and history cleanup."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers.deployment import cleanup_deployment, max_revision
from controllers.deployment.revisions import set_new_replica_set_annotations
from controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    MAX_REVISION_HISTORY_CHARS,
    REVISION,
    REVISION_HISTORY,
)
from reconcile import FrozenDict
from tests.controllers.deployment.builders import at, deployment, replica_set


def test_max_revision_skips_garbled_and_counts_missing_as_zero() -> None:
    """Unparsable revisions are skipped; no ReplicaSets means revision 0."""
    d = deployment()
    good = replica_set(d, image="nginx:1", revision=4)
    garbled = replica_set(d, image="nginx:2", revision=None)
    garbled = attrs.evolve(
        garbled, metadata=attrs.evolve(garbled.metadata, annotations={REVISION: "x9"})
    )
    assert 4 == max_revision([good, garbled])
    assert 0 == max_revision([])


def test_reused_replica_set_gets_new_revision_and_history() -> None:
    """A ReplicaSet brought back at revision 4 records its former revision 1 in the history."""
    d = deployment()
    rs = replica_set(d, revision=1)
    updated = set_new_replica_set_annotations(d, rs, 4, exists=True)
    assert ("4", "1") == (
        updated.metadata.annotations[REVISION],
        updated.metadata.annotations[REVISION_HISTORY],
    )
    again = set_new_replica_set_annotations(d, updated, 6, exists=True)
    assert ("6", "1,4") == (
        again.metadata.annotations[REVISION],
        again.metadata.annotations[REVISION_HISTORY],
    )
    assert again is set_new_replica_set_annotations(d, again, 6, exists=True)


def test_history_drops_oldest_entries_to_fit() -> None:
    """The history stays within 2000 characters, oldest entries dropped first."""
    d = deployment()
    long_history = ",".join(str(n) for n in range(1000, 1400))  # 400 x 4 + 399 = 1999 chars
    rs = replica_set(d, revision=5000)
    rs = attrs.evolve(
        rs,
        metadata=attrs.evolve(
            rs.metadata,
            annotations={**rs.metadata.annotations, REVISION_HISTORY: long_history},
        ),
    )
    history = set_new_replica_set_annotations(d, rs, 5001, exists=True).metadata.annotations[
        REVISION_HISTORY
    ]
    assert len(history) <= MAX_REVISION_HISTORY_CHARS
    assert history.endswith(",5000")
    assert not history.startswith("1000,")


def test_new_replica_set_annotations_copy_deployment_annotations_except_skipped() -> None:
    """Deployment annotations are copied, except the revision and replicas bookkeeping ones."""
    d = deployment()
    d = attrs.evolve(
        d,
        metadata=attrs.evolve(
            d.metadata,
            annotations=FrozenDict({"team": "a", REVISION: "9", DESIRED_REPLICAS: "1"}),
        ),
    )
    rs = replica_set(d, revision=None)
    rs = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, annotations=FrozenDict()))
    created = set_new_replica_set_annotations(d, rs, 3, exists=False)
    assert {"team": "a", REVISION: "3", DESIRED_REPLICAS: "4", MAX_REPLICAS: "5"} == dict(
        created.metadata.annotations
    )


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3)),  # (spec, status) replicas
        max_size=15,
    ),
    st.integers(0, 5),
)
def test_cleanup_respects_the_history_limit(sizes: list[tuple[int, int]], limit: int) -> None:
    """Only empty ReplicaSets among the len - limit lowest revisions are deleted; never more."""
    d = deployment(history=limit)
    olds = [
        replica_set(d, image=f"nginx:{i}", replicas=n, actual=a, revision=i + 1, created=i)
        for i, (n, a) in enumerate(sizes)
    ]
    deleted = cleanup_deployment(d, olds)
    surplus = max(0, len(olds) - limit)
    candidates = olds[:surplus]
    expected = tuple(
        rs.metadata.name for rs in candidates if rs.spec.replicas == 0 and rs.status.replicas == 0
    )
    assert expected == deleted
    assert len(olds) - len(deleted) >= min(limit, len(olds))


def test_cleanup_skips_replica_sets_being_deleted_or_not_observed() -> None:
    """Deleting ReplicaSets are not counted; an unobserved generation is not deleted."""
    d = deployment(history=0)
    deleting = replica_set(d, image="nginx:1", revision=1)
    deleting = attrs.evolve(
        deleting, metadata=attrs.evolve(deleting.metadata, deletion_timestamp=at(1))
    )
    stale = replica_set(d, image="nginx:2", revision=2)
    stale = attrs.evolve(stale, metadata=attrs.evolve(stale.metadata, generation=5))
    empty = replica_set(d, image="nginx:3", revision=3)
    assert (empty.metadata.name,) == cleanup_deployment(d, [deleting, stale, empty])
    assert () == cleanup_deployment(deployment(history=None), [empty])
