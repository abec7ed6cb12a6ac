"""rollout_history: revisions and change causes read from the owned ReplicaSets."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.kubectl import (
    KubectlError,
    equal_ignore_hash,
    find_revision,
    history_table,
    new_replica_set,
    owned_replica_sets,
    rollout_history,
    without_hash,
)
from controllers.kubectl.annotations import CHANGE_CAUSE, POD_TEMPLATE_HASH
from reconcile import Uid
from tests.controllers.kubectl.builders import deployment, replica_set, template


def _summary(d_image: str, *rss: object) -> list[tuple[int, str | None]]:
    entries = rollout_history(deployment(image=d_image), rss)  # type: ignore[arg-type]
    return [(e.revision, e.change_cause) for e in entries]


def test_lists_revisions_oldest_first_with_change_causes() -> None:
    """Each owned ReplicaSet is a revision; the change-cause annotation explains it."""
    rss = [
        replica_set(3, "nginx:1.27", cause="set image 1.27", created=20),
        replica_set(1, "nginx:1.25", created=0),
        replica_set(2, "nginx:1.26", cause="set image 1.26", created=10),
    ]
    assert [(1, None), (2, "set image 1.26"), (3, "set image 1.27")] == _summary("nginx:1.27", *rss)


def test_ignores_replica_sets_of_others() -> None:
    """Other controllers' ReplicaSets and other namespaces are not history."""
    mine = replica_set(1, "nginx:1.25")
    other = replica_set(2, "nginx:1.26", name="other", owner_uid=Uid("someone-else"))
    elsewhere = replica_set(3, "nginx:1.27", name="elsewhere").with_meta(namespace="prod")
    assert [mine] == owned_replica_sets(deployment(), [mine, other, elsewhere])


def test_skips_unparsable_revisions_and_counts_missing_as_zero() -> None:
    """As kubectl: a bad revision is skipped, a missing one is revision 0."""
    rss = [replica_set("abc", "a"), replica_set(None, "b", name="bare"), replica_set(4, "c")]
    assert [(0, None), (4, None)] == _summary("c", *rss)


def test_current_replica_set_wins_a_duplicate_revision() -> None:
    """Two ReplicaSets claiming one revision: the Deployment's current one is shown."""
    rss = [replica_set(2, "new", name="b", cause="current"), replica_set(2, "old", name="a")]
    assert [(2, "current")] == _summary("new", *rss)


def test_detail_has_the_template_and_its_change_cause() -> None:
    """--revision=N shows the ReplicaSet's template, change cause among its annotations."""
    rss = [replica_set(1, "nginx:1.25", cause="first"), replica_set(2, "nginx:1.26")]
    history = rollout_history(deployment(image="nginx:1.26"), rss)
    entry = find_revision(history, 1)
    assert "first" == entry.template.metadata.annotations[CHANGE_CAUSE]
    assert "nginx:1.25" == entry.template.spec.containers[0].image
    assert "web-h1" == entry.replica_set
    with pytest.raises(KubectlError, match="unable to find the specified revision"):
        find_revision(history, 7)


def test_history_table() -> None:
    """REVISION and CHANGE-CAUSE columns, <none> for no cause."""
    rss = [replica_set(1, "a"), replica_set(2, "b", cause="kubectl set image deploy/web web=b")]
    expected = (
        "REVISION  CHANGE-CAUSE\n1         <none>\n2         kubectl set image deploy/web web=b"
    )
    assert expected == history_table(rollout_history(deployment(image="b"), rss))
    assert "No rollout history found." == history_table([])


def test_new_replica_set_is_the_oldest_with_the_template() -> None:
    """Hash labels aside, the oldest ReplicaSet with the Deployment's template is current."""
    rss = [replica_set(3, "b", created=30), replica_set(1, "b", created=5), replica_set(2, "a")]
    found = new_replica_set(deployment(image="b"), rss)
    assert found is not None
    assert "web-h1" == found.metadata.name
    assert new_replica_set(deployment(image="z"), rss) is None


@given(hash_value=st.text(alphabet="abcdef0123456789", min_size=1, max_size=10))
def test_equal_ignore_hash_ignores_only_the_hash_label(hash_value: str) -> None:
    """Adding a pod-template-hash label keeps templates equal; any other label does not."""
    base = template()
    labels = {**base.metadata.labels, POD_TEMPLATE_HASH: hash_value}
    hashed = attrs.evolve(base, metadata=attrs.evolve(base.metadata, labels=labels))
    assert equal_ignore_hash(base, hashed)
    assert base == without_hash(hashed)
    other = {**base.metadata.labels, "tier": hash_value}
    relabelled = attrs.evolve(base, metadata=attrs.evolve(base.metadata, labels=other))
    assert not equal_ignore_hash(base, relabelled)


@given(revisions=st.lists(st.integers(1, 50), unique=True, max_size=8))
def test_history_is_sorted_and_complete(revisions: list[int]) -> None:
    """Every distinct revision appears once, in increasing order."""
    rss = [replica_set(r, f"img:{r}") for r in revisions]
    assert sorted(revisions) == [e.revision for e in rollout_history(deployment(), rss)]
