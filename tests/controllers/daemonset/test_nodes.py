"""Which nodes run daemon pods, and the pods themselves (pure)."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import DaemonSet
from controllers.api.core import Node, Pod
from controllers.api.pod import PodSpec
from controllers.api.scheduling import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Toleration,
)
from controllers.daemonset import (
    DAEMON_TOLERATIONS,
    HASH_LABEL,
    NETWORK_UNAVAILABLE_TOLERATION,
    Eligibility,
    daemon_pod,
    node_should_run_daemon_pod,
    pin_to_node,
    target_node,
    with_daemon_tolerations,
)
from controllers.scheduler.snapshot import matches_node_selector
from tests.controllers.daemonset.builders import daemonset, node, nodes, taint

BOTH = Eligibility(should_run=True, should_continue_running=True)
NEITHER = Eligibility(should_run=False, should_continue_running=False)
KEEP = Eligibility(should_run=False, should_continue_running=True)
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def test_plain_node_runs_daemon_pod() -> None:
    """A node without labels or taints runs the pod of a DaemonSet without constraints."""
    assert BOTH == node_should_run_daemon_pod(node("n1"), daemonset())


def test_untolerated_no_schedule_taint_keeps_new_pods_off_but_existing_ones_on() -> None:
    """A NoSchedule taint without a toleration: no new pod, an existing one stays."""
    assert KEEP == node_should_run_daemon_pod(
        node("n1", taints=[taint(CONTROL_PLANE)]), daemonset()
    )


def test_untolerated_no_execute_taint_removes_pods() -> None:
    """A NoExecute taint without a toleration: no pod at all."""
    tainted = node("n1", taints=[taint("dedicated", "NoExecute")])
    assert NEITHER == node_should_run_daemon_pod(tainted, daemonset())


def test_prefer_no_schedule_taint_is_ignored() -> None:
    """PreferNoSchedule taints never keep daemon pods off."""
    soft = node("n1", taints=[taint("dedicated", "PreferNoSchedule")])
    assert BOTH == node_should_run_daemon_pod(soft, daemonset())


def test_tolerated_taint_lets_the_pod_run() -> None:
    """A template toleration of the taint makes the node eligible."""
    ds = daemonset(tolerations=[Toleration(key=CONTROL_PLANE, operator="Exists")])
    tainted = node("n1", taints=[taint(CONTROL_PLANE), taint(CONTROL_PLANE, "NoExecute")])
    assert BOTH == node_should_run_daemon_pod(tainted, ds)


def test_cordoned_and_not_ready_nodes_still_run_daemon_pods() -> None:
    """The taints of cordoned, not-ready, unreachable and pressured nodes are tolerated."""
    tainted = node(
        "n1",
        unschedulable=True,
        taints=[
            taint("node.kubernetes.io/unschedulable"),
            taint("node.kubernetes.io/not-ready", "NoExecute"),
            taint("node.kubernetes.io/unreachable", "NoExecute"),
            taint("node.kubernetes.io/disk-pressure"),
            taint("node.kubernetes.io/memory-pressure"),
            taint("node.kubernetes.io/pid-pressure"),
        ],
    )
    assert BOTH == node_should_run_daemon_pod(tainted, daemonset())


def test_network_unavailable_is_tolerated_only_with_host_network() -> None:
    """Only hostNetwork daemon pods tolerate node.kubernetes.io/network-unavailable."""
    tainted = node("n1", taints=[taint("node.kubernetes.io/network-unavailable")])
    assert KEEP == node_should_run_daemon_pod(tainted, daemonset())
    assert BOTH == node_should_run_daemon_pod(tainted, daemonset(host_network=True))


def test_node_selector_must_match_labels() -> None:
    """``nodeSelector`` restricts the DaemonSet to matching nodes (not even keep)."""
    ds = daemonset(node_selector={"disk": "ssd"})
    assert BOTH == node_should_run_daemon_pod(node("n1", labels={"disk": "ssd"}), ds)
    assert NEITHER == node_should_run_daemon_pod(node("n2", labels={"disk": "hdd"}), ds)


def test_required_node_affinity_must_match() -> None:
    """Required node affinity (terms ORed) restricts the DaemonSet too."""
    ds = daemonset()
    terms = (
        NodeSelectorTerm(
            match_expressions=(NodeSelectorRequirement(key="zone", operator="In", values=("a",)),)
        ),
        NodeSelectorTerm(
            match_fields=(
                NodeSelectorRequirement(key="metadata.name", operator="In", values=("n3",)),
            )
        ),
    )
    affinity = Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=terms
            )
        )
    )
    ds = _with_template_spec(ds, attrs.evolve(ds.spec.template.spec, affinity=affinity))
    assert BOTH == node_should_run_daemon_pod(node("n1", labels={"zone": "a"}), ds)
    assert NEITHER == node_should_run_daemon_pod(node("n2", labels={"zone": "b"}), ds)
    assert BOTH == node_should_run_daemon_pod(node("n3"), ds)


def test_daemon_pod_is_pinned_tolerant_and_labelled() -> None:
    """A new daemon pod carries the hash label, the daemon tolerations and its node's affinity."""
    ds = daemonset(tolerations=[Toleration(key="gpu", operator="Exists")])
    pod = daemon_pod(ds, "n7", "abc")
    assert "abc" == pod.metadata.labels[HASH_LABEL]
    assert "agent-" == pod.metadata.generate_name
    assert ds.metadata.uid == pod.metadata.owner_references[0].uid
    assert pod.metadata.owner_references[0].controller
    assert set(DAEMON_TOLERATIONS) <= set(pod.spec.tolerations)
    assert NETWORK_UNAVAILABLE_TOLERATION not in pod.spec.tolerations
    assert Toleration(key="gpu", operator="Exists") in pod.spec.tolerations
    assert "n7" == target_node(pod)
    assert "" == pod.spec.node_name
    assert matches_node_selector(pod, node("n7"))
    assert not matches_node_selector(pod, node("n8"))


def test_daemon_tolerations_are_not_duplicated() -> None:
    """Adding the daemon tolerations twice changes nothing."""
    spec = daemonset(host_network=True).spec.template.spec
    once = with_daemon_tolerations(spec)
    assert once.tolerations == with_daemon_tolerations(once).tolerations
    assert NETWORK_UNAVAILABLE_TOLERATION in once.tolerations


def test_pinning_replaces_required_affinity() -> None:
    """Pinning twice to different nodes leaves only the last node."""
    spec = pin_to_node(pin_to_node(daemonset().spec.template.spec, "a"), "b")
    assert matches_node_selector(_pod_with(spec), node("b"))
    assert not matches_node_selector(_pod_with(spec), node("a"))


@given(nodes(min_size=1, max_size=1), st.booleans())
def test_continue_running_is_implied_by_should_run(drawn: list[Node], host: bool) -> None:
    """A node that should run the pod may always keep it."""
    verdict = node_should_run_daemon_pod(drawn[0], daemonset(host_network=host))
    assert not verdict.should_run or verdict.should_continue_running


@given(nodes(min_size=1, max_size=1))
def test_no_execute_taints_decide_continue_running(drawn: list[Node]) -> None:
    """May keep its pod exactly when no NoExecute taint is untolerated."""
    n = drawn[0]
    tolerated = {t.key for t in DAEMON_TOLERATIONS if t.effect == "NoExecute"}
    untolerated = [t for t in n.spec.taints if t.effect == "NoExecute" and t.key not in tolerated]
    assert (not untolerated) == node_should_run_daemon_pod(n, daemonset()).should_continue_running


# -- helpers -----------------------------------------------------------------------------------


def _with_template_spec(ds: DaemonSet, spec: PodSpec) -> DaemonSet:
    template = attrs.evolve(ds.spec.template, spec=spec)
    return attrs.evolve(ds, spec=attrs.evolve(ds.spec, template=template))


def _pod_with(spec: PodSpec) -> Pod:
    return Pod(spec=spec)
