"""plan_rollback: which revision an undo restores, and what it writes."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import Deployment, ReplicaSet
from controllers.kubectl import (
    KubectlError,
    equal_ignore_hash,
    plan_rollback,
    revision_to_restore,
)
from controllers.kubectl.annotations import CHANGE_CAUSE, LAST_APPLIED, POD_TEMPLATE_HASH, REVISION
from tests.controllers.kubectl.builders import deployment, replica_set


def _history() -> list[ReplicaSet]:
    return [
        replica_set(1, "nginx:1.25", cause="create"),
        replica_set(2, "nginx:1.26", cause="bump"),
        replica_set(3, "nginx:1.27", cause="bump again"),
    ]


def _current() -> Deployment:
    notes = {REVISION: "3", CHANGE_CAUSE: "bump again", LAST_APPLIED: "{}", "team": "a"}
    return deployment(image="nginx:1.27", annotations=notes)


def test_restores_the_previous_revision_by_default() -> None:
    """Without a revision, undo goes to the second highest."""
    plan = plan_rollback(_current(), _history())
    assert plan.deployment is not None
    assert (2, "rolled back") == (plan.revision, plan.message)
    assert "nginx:1.26" == plan.deployment.spec.template.spec.containers[0].image


def test_restores_the_given_revision_without_the_hash_label() -> None:
    """The ReplicaSet's template comes back minus pod-template-hash."""
    plan = plan_rollback(_current(), _history(), to_revision=1)
    assert plan.deployment is not None
    template = plan.deployment.spec.template
    assert "nginx:1.25" == template.spec.containers[0].image
    assert POD_TEMPLATE_HASH not in template.metadata.labels


def test_annotations_come_from_the_replica_set_but_bookkeeping_stays() -> None:
    """Skip-listed annotations are the Deployment's; the rest are replaced by the ReplicaSet's."""
    plan = plan_rollback(_current(), _history(), to_revision=1)
    assert plan.deployment is not None
    expected = {REVISION: "3", LAST_APPLIED: "{}", CHANGE_CAUSE: "create"}
    assert expected == dict(plan.deployment.metadata.annotations)


def test_skips_when_the_template_already_matches() -> None:
    """Undo to the current revision writes nothing."""
    plan = plan_rollback(_current(), _history(), to_revision=3)
    assert plan.skipped
    assert "skipped rollback (current template already matches revision 3)" == plan.message


def test_unknown_revision_is_an_error() -> None:
    """kubectl's message names the revision."""
    with pytest.raises(KubectlError) as info:
        plan_rollback(_current(), _history(), to_revision=9)
    assert "unable to find specified revision 9 in history" == str(info.value)
    with pytest.raises(KubectlError, match="unable to find specified revision -1 in history"):
        plan_rollback(_current(), _history(), to_revision=-1)


def test_no_previous_revision_is_an_error() -> None:
    """A single revision has nothing to go back to."""
    with pytest.raises(KubectlError) as info:
        plan_rollback(_current(), _history()[2:])
    assert 'no rollout history found for deployment "web"' == str(info.value)


def test_refuses_a_paused_deployment() -> None:
    """Rolling back a paused Deployment is refused, as kubectl does."""
    paused = attrs.evolve(_current(), spec=attrs.evolve(_current().spec, paused=True))
    with pytest.raises(KubectlError, match="you cannot rollback a paused deployment"):
        plan_rollback(paused, _history())


def _controller_step(d: Deployment, rss: list[ReplicaSet]) -> list[ReplicaSet]:
    """The Deployment controller's renumbering on a template it has a ReplicaSet for."""
    top = max(int(rs.metadata.annotations[REVISION]) for rs in rss)
    return [
        rs.with_meta(annotations={**rs.metadata.annotations, REVISION: str(top + 1)})
        if equal_ignore_hash(rs.spec.template, d.spec.template)
        else rs
        for rs in rss
    ]


@given(images=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=6, unique=True))
def test_undo_twice_returns_the_template_to_where_it_started(images: list[str]) -> None:
    """undo; undo is the identity on the template, the controller renumbering in between."""
    rss = [replica_set(i + 1, image, created=i) for i, image in enumerate(images)]
    start = deployment(image=images[-1], revision=len(images))
    first = plan_rollback(start, rss)
    assert first.deployment is not None
    rss = _controller_step(first.deployment, rss)
    second = plan_rollback(first.deployment, rss)
    assert second.deployment is not None
    assert start.spec.template == second.deployment.spec.template


@given(
    revisions=st.lists(st.integers(1, 30), unique=True, min_size=2, max_size=8),
)
def test_previous_revision_is_the_second_highest(revisions: list[int]) -> None:
    """Whatever the order of the ReplicaSets, the default target is the second highest."""
    rss = [replica_set(r, f"img:{r}") for r in revisions]
    revision, rs = revision_to_restore(deployment(), rss)
    assert sorted(revisions)[-2] == revision
    assert f"img:{revision}" == rs.spec.template.spec.containers[0].image
