"""Scenarios: where the scheduler puts a pod, and what it says when nothing fits."""

from __future__ import annotations

import reconcile
from controllers.api.core import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinity,
    PodAffinityTerm,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from controllers.scheduler import schedule
from tests.controllers.scheduler.builders import node, owned, place_all, pod, with_spec

CONTROL_PLANE = Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")


def _required(*reqs: NodeSelectorRequirement) -> Affinity:
    terms = (NodeSelectorTerm(match_expressions=reqs),)
    selector = NodeSelector(node_selector_terms=terms)
    return Affinity(
        node_affinity=NodeAffinity(required_during_scheduling_ignored_during_execution=selector)
    )


def test_taint_keeps_pod_off() -> None:
    """A pod without a toleration avoids the tainted node."""
    nodes = [node("a", taints=[CONTROL_PLANE]), node("b", cpu="1")]
    assert "b" == schedule(pod("p"), nodes, {}).node


def test_toleration_lets_pod_on() -> None:
    """A toleration admits the pod onto the only, tainted, node."""
    nodes = [node("a", taints=[CONTROL_PLANE])]
    tolerant = with_spec(
        pod("p"), tolerations=(Toleration(key=CONTROL_PLANE.key, operator="Exists"),)
    )
    assert (None, "a") == (schedule(pod("p"), nodes, {}).node, schedule(tolerant, nodes, {}).node)


def test_empty_key_exists_tolerates_everything() -> None:
    """An ``Exists`` toleration with no key tolerates any taint."""
    nodes = [node("a", taints=[CONTROL_PLANE, Taint(key="x", value="y", effect="NoExecute")])]
    tolerant = with_spec(pod("p"), tolerations=(Toleration(operator="Exists"),))
    assert "a" == schedule(tolerant, nodes, {}).node


def test_insufficient_cpu_message() -> None:
    """The FailedScheduling message groups and counts reasons as Kubernetes prints them."""
    nodes = [node("cp", taints=[CONTROL_PLANE]), node("w1", cpu="1"), node("w2", cpu="500m")]
    decision = schedule(pod("p", cpu="1500m"), nodes, {})
    expected = (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
    )
    assert (None, expected) == (decision.node, decision.message)


def test_requests_of_bound_pods_count() -> None:
    """Memory already requested on a node is not available again; pods are counted too."""
    nodes = [node("a", memory="1Gi", pods=5), node("b", pods=1)]
    bound = {"a": [pod("x", memory="768Mi")], "b": [pod("y")]}
    decision = schedule(pod("p", memory="512Mi"), nodes, bound)
    expected = "0/2 nodes are available: 1 Insufficient memory, 1 Too many pods."
    assert expected == decision.message


def test_trace_names_filter_and_scores() -> None:
    """The trace says which filter rejected a node and scores every feasible one."""
    nodes = [node("a", unschedulable=True), node("b")]
    decision = schedule(pod("p"), nodes, {})
    rejected, chosen = decision.trace
    assert ("NodeUnschedulable", ("node(s) were unschedulable",)) == (
        rejected.rejected_by,
        rejected.reasons,
    )
    assert ["NodeAffinity", "TaintToleration", "InterPodAffinity"] == [
        name for name, _ in chosen.scores
    ][:3]


def test_node_selector() -> None:
    """``nodeSelector`` admits only nodes with every label."""
    nodes = [node("a", labels={"disk": "hdd"}), node("b", labels={"disk": "ssd"})]
    decision = schedule(
        with_spec(pod("p"), node_selector=reconcile.FrozenDict(disk="ssd")), nodes, {}
    )
    assert "b" == decision.node


def test_gt_lt() -> None:
    """``Gt`` and ``Lt`` compare label values as integers; non-integers never match."""
    nodes = [node(n, labels={"cores": c}) for n, c in (("a", "4"), ("b", "16"), ("c", "x"))]
    big = with_spec(
        pod("p"),
        affinity=_required(NodeSelectorRequirement(key="cores", operator="Gt", values=("8",))),
    )
    small = with_spec(
        pod("p"),
        affinity=_required(NodeSelectorRequirement(key="cores", operator="Lt", values=("8",))),
    )
    assert ("b", "a") == (schedule(big, nodes, {}).node, schedule(small, nodes, {}).node)


def test_match_fields_and_not_in() -> None:
    """``matchFields`` on ``metadata.name`` and ``NotIn`` on labels."""
    nodes = [node("a"), node("b", labels={"zone": "z1"}), node("c", labels={"zone": "z2"})]
    term = NodeSelectorTerm(
        match_expressions=(NodeSelectorRequirement(key="zone", operator="NotIn", values=("z1",)),),
        match_fields=(
            NodeSelectorRequirement(key="metadata.name", operator="In", values=("b", "c")),
        ),
    )
    affinity = Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=(term,)
            )
        )
    )
    assert "c" == schedule(with_spec(pod("p"), affinity=affinity), nodes, {}).node


def test_node_name() -> None:
    """``spec.nodeName`` admits only that node."""
    nodes = [node("a"), node("b")]
    decision = schedule(with_spec(pod("p"), node_name="b"), nodes, {})
    assert ("b", ("node(s) didn't match the requested node name",)) == (
        decision.node,
        decision.trace[0].reasons,
    )


def test_anti_affinity_spreads_replicas() -> None:
    """Three replicas with hostname anti-affinity land on three different nodes."""
    term = PodAffinityTerm(
        label_selector=reconcile.LabelSelector(match_labels={"app": "web"}),
        topology_key="kubernetes.io/hostname",
    )
    affinity = Affinity(
        pod_anti_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=(term,))
    )
    replicas = [
        with_spec(pod(f"web-{i}", labels={"app": "web"}), affinity=affinity) for i in range(4)
    ]
    bound = place_all(replicas[:3], [node("a"), node("b"), node("c")])
    decision = schedule(replicas[3], [node("a"), node("b"), node("c")], bound)
    assert (
        ["a", "b", "c"],
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.",
    ) == (
        sorted(n for n, ps in bound.items() if len(ps) == 1),
        decision.message,
    )


def test_pod_affinity_follows_the_first_pod() -> None:
    """A required pod affinity sends later pods to the zone of the first matching pod."""
    term = PodAffinityTerm(
        label_selector=reconcile.LabelSelector(match_labels={"app": "db"}), topology_key="zone"
    )
    affinity = Affinity(
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=(term,))
    )
    nodes = [
        node("a", labels={"zone": "z1"}),
        node("b", labels={"zone": "z2"}),
        node("c", labels={"zone": "z2"}),
    ]
    bound = {"c": [pod("db", labels={"app": "db"})]}
    decision = schedule(with_spec(pod("p"), affinity=affinity), nodes, bound)
    assert ("b", "node(s) didn't match pod affinity rules") == (
        decision.node,
        decision.trace[0].reasons[0],
    )


def test_topology_spread_do_not_schedule() -> None:
    """A DoNotSchedule constraint with maxSkew 1 keeps zones balanced."""
    selector = reconcile.LabelSelector(match_labels={"app": "web"})
    spread = TopologySpreadConstraint(
        max_skew=1, topology_key="zone", when_unsatisfiable="DoNotSchedule", label_selector=selector
    )
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"})]
    bound = {"a": [pod("w0", labels={"app": "web"})]}
    p = with_spec(pod("w1", labels={"app": "web"}), topology_spread_constraints=(spread,))
    decision = schedule(p, nodes, bound)
    assert ("b", ("node(s) didn't match pod topology spread constraints",)) == (
        decision.node,
        decision.trace[0].reasons,
    )


def test_owner_replicas_spread_by_default() -> None:
    """Replicas of one controller spread over the nodes with no rule asking for it."""
    owner = reconcile.OwnerReference(
        api_version="apps/v1",
        kind="ReplicaSet",
        name="rs",
        uid=reconcile.Uid("u1"),
        controller=True,
    )
    replicas = [owned(pod(f"r{i}", cpu="10m"), owner) for i in range(6)]
    bound = place_all(replicas, [node("a"), node("b"), node("c")])
    assert [2, 2, 2] == [len(bound[n]) for n in "abc"]


def test_trace_off_decides_the_same() -> None:
    """Without the trace, the node and the FailedScheduling message are the same; no trace."""
    nodes = [node("cp", taints=[CONTROL_PLANE]), node("w1", cpu="1"), node("w2", cpu="2")]
    bound = {"w2": [pod("x", cpu="500m")]}
    for p in (pod("p", cpu="500m"), pod("q", cpu="1500m"), pod("r", cpu="3")):
        traced, bare = schedule(p, nodes, bound), schedule(p, nodes, bound, trace=False)
        assert (traced.node, traced.message, ()) == (bare.node, bare.message, bare.trace)
