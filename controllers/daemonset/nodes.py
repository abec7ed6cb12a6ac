"""
Which nodes a DaemonSet runs on, and the pod it puts there: pure.

A daemon pod is the DaemonSet's template with tolerations added so that node
conditions the node lifecycle controller turns into taints (not ready,
unreachable, pressure, cordoned) never keep it off or evict it, and with its
required node affinity replaced by one ``matchFields`` term naming its node,
so that the scheduler binds it there and nowhere else.

:func:`node_should_run_daemon_pod` answers two questions per node: should a
pod be created there (``should_run``), and may an existing one stay
(``should_continue_running``). A ``NoSchedule`` taint the pod does not
tolerate only answers the first with no; an untolerated ``NoExecute`` taint
answers both with no.

Kubernetes: ``NodeShouldRunDaemonPod`` in pkg/controller/daemon/daemon_controller.go,
``AddOrUpdateDaemonPodTolerations`` and ``ReplaceDaemonSetPodNodeNameNodeAffinity``
in pkg/controller/daemon/util/daemonset_util.go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import attrs

from controllers.api.apps import DaemonSet
from controllers.api.core import Node
from controllers.api.pod import Pod, PodSpec
from controllers.api.scheduling import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Taint,
    Toleration,
)
from controllers.daemonset.revisions import HASH_LABEL
from controllers.planted import DAEMONSET_IGNORES_NOSCHEDULE_TAINTS
from controllers.scheduler.snapshot import matches_node_selector, tolerates
from reconcile import FrozenDict, ObjectMeta, owner_reference_to, planted

__all__ = [
    "DAEMON_TOLERATIONS",
    "NETWORK_UNAVAILABLE_TOLERATION",
    "Eligibility",
    "daemon_pod",
    "daemon_pod_spec",
    "eligibility",
    "node_should_run_daemon_pod",
    "pin_to_node",
    "target_node",
    "with_daemon_tolerations",
]

_NO_EXECUTE = "NoExecute"
_NO_SCHEDULE = "NoSchedule"

DAEMON_TOLERATIONS: tuple[Toleration, ...] = (
    Toleration(key="node.kubernetes.io/not-ready", operator="Exists", effect=_NO_EXECUTE),
    Toleration(key="node.kubernetes.io/unreachable", operator="Exists", effect=_NO_EXECUTE),
    Toleration(key="node.kubernetes.io/disk-pressure", operator="Exists", effect=_NO_SCHEDULE),
    Toleration(key="node.kubernetes.io/memory-pressure", operator="Exists", effect=_NO_SCHEDULE),
    Toleration(key="node.kubernetes.io/pid-pressure", operator="Exists", effect=_NO_SCHEDULE),
    Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect=_NO_SCHEDULE),
)
"""Tolerations every daemon pod gets (no ``tolerationSeconds``: tolerated forever)."""

NETWORK_UNAVAILABLE_TOLERATION = Toleration(
    key="node.kubernetes.io/network-unavailable", operator="Exists", effect=_NO_SCHEDULE
)
"""Added only to ``hostNetwork`` daemon pods, which need no pod network."""

_NODE_NAME_FIELD = "metadata.name"


class Eligibility(NamedTuple):
    """
    Whether a node should run a DaemonSet's pod.

    Attributes:
        should_run: A daemon pod should be created there if none is.
        should_continue_running: A daemon pod already there may stay.
    """

    should_run: bool
    should_continue_running: bool


_NEITHER = Eligibility(should_run=False, should_continue_running=False)
_BOTH = Eligibility(should_run=True, should_continue_running=True)
_KEEP_ONLY = Eligibility(should_run=False, should_continue_running=True)


def with_daemon_tolerations(spec: PodSpec) -> PodSpec:
    """
    ``spec`` with :data:`DAEMON_TOLERATIONS` (and, for ``hostNetwork``, the network one).

    A toleration of the template with the same key, operator, value and
    effect is replaced by the daemon one (Kubernetes'
    ``AddOrUpdateTolerationInPodSpec``); the others are kept, in order.
    """
    wanted = DAEMON_TOLERATIONS + ((NETWORK_UNAVAILABLE_TOLERATION,) if spec.host_network else ())
    ident = {(t.key, t.operator, t.value, t.effect) for t in wanted}
    kept = tuple(
        t
        for t in spec.tolerations
        if (t.key, t.operator or "Equal", t.value, t.effect) not in ident
    )
    return attrs.evolve(spec, tolerations=kept + wanted)


def pin_to_node(spec: PodSpec, node: str) -> PodSpec:
    """
    ``spec`` with its required node affinity replaced by ``metadata.name In [node]``.

    Preferred node affinity and pod (anti-)affinity are kept. The node
    selector stays as the template has it: the controller only picks nodes
    it matches.
    """
    term = NodeSelectorTerm(
        match_fields=(NodeSelectorRequirement(key=_NODE_NAME_FIELD, operator="In", values=(node,)),)
    )
    required = NodeSelector(node_selector_terms=(term,))
    affinity = spec.affinity or Affinity()
    node_affinity = affinity.node_affinity or NodeAffinity()
    node_affinity = attrs.evolve(
        node_affinity, required_during_scheduling_ignored_during_execution=required
    )
    return attrs.evolve(spec, affinity=attrs.evolve(affinity, node_affinity=node_affinity))


def daemon_pod_spec(ds: DaemonSet) -> PodSpec:
    """The template's spec with the daemon tolerations: what every node is judged against."""
    return with_daemon_tolerations(ds.spec.template.spec)


def target_node(pod: Pod) -> str:
    """
    The node a daemon pod is for: ``spec.nodeName``, else its ``matchFields`` node.

    ``""`` when neither names one. Kubernetes: ``GetTargetNodeName``.
    """
    if pod.spec.node_name:
        return pod.spec.node_name
    affinity = pod.spec.affinity
    node_affinity = affinity.node_affinity if affinity is not None else None
    required = (
        node_affinity.required_during_scheduling_ignored_during_execution
        if node_affinity is not None
        else None
    )
    if required is None:
        return ""
    for term in required.node_selector_terms:
        for field in term.match_fields:
            if field.key == _NODE_NAME_FIELD and field.operator == "In" and len(field.values) == 1:
                return field.values[0]
    return ""


def _untolerated(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> list[Taint]:
    return [
        taint
        for taint in taints
        if taint.effect in (_NO_SCHEDULE, _NO_EXECUTE)
        and not any(tolerates(t, taint) for t in tolerations)
    ]


def eligibility(ds: DaemonSet) -> Callable[[Node], Eligibility]:
    """
    :func:`node_should_run_daemon_pod` for ``ds``, with the daemon pod built once.

    A sync judges every node; building the tolerated pod once per sync
    rather than once per node keeps that a plain loop.
    """
    spec = daemon_pod_spec(ds)
    pod = Pod(spec=spec)
    wanted_node = spec.node_name
    tolerations = spec.tolerations
    constrained = bool(spec.node_selector) or (
        spec.affinity is not None
        and spec.affinity.node_affinity is not None
        and spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
        is not None
    )
    blind = planted(DAEMONSET_IGNORES_NOSCHEDULE_TAINTS)

    def judge(node: Node) -> Eligibility:
        if wanted_node and wanted_node != node.metadata.name:
            return _NEITHER
        if constrained and not matches_node_selector(pod, node):
            return _NEITHER
        taints = node.spec.taints
        if not taints:
            return _BOTH
        untolerated = _untolerated(taints, tolerations)
        if blind:  # sees only NoExecute taints
            untolerated = [t for t in untolerated if t.effect == _NO_EXECUTE]
        if not untolerated:
            return _BOTH
        if any(t.effect == _NO_EXECUTE for t in untolerated):
            return _NEITHER
        return _KEEP_ONLY

    return judge


def node_should_run_daemon_pod(node: Node, ds: DaemonSet) -> Eligibility:
    """
    Whether ``node`` should run ``ds``'s pod, and whether an existing one may stay.

    * ``spec.nodeName`` in the template naming another node: neither.
    * ``nodeSelector`` or required node affinity (terms ORed, ``matchFields``
      on ``metadata.name`` honoured) not matching: neither.
    * A ``NoSchedule``/``NoExecute`` taint not tolerated by the template's
      tolerations plus the daemon ones: ``should_run`` is false, and
      ``should_continue_running`` is false too when one of them is ``NoExecute``.
    * Otherwise both. ``spec.unschedulable`` itself is not read, only the
      ``node.kubernetes.io/unschedulable`` taint, which daemon pods tolerate.

    Kubernetes: ``NodeShouldRunDaemonPod``.
    """
    return eligibility(ds)(node)


def daemon_pod(ds: DaemonSet, node: str, hash_: str) -> Pod:
    """
    A new daemon pod of ``ds`` for ``node``, of the revision ``hash_``.

    The template with :data:`~controllers.daemonset.revisions.HASH_LABEL`
    added, the daemon tolerations, required node affinity pinned to ``node``
    (the scheduler binds it), ``generateName: <ds name>-`` and ``ds`` as its
    controller. Kubernetes: ``CreatePodTemplate`` and ``syncNodes``.
    """
    template = ds.spec.template
    meta = ObjectMeta(
        generate_name=f"{ds.metadata.name}-",
        namespace=ds.metadata.namespace,
        labels=FrozenDict({**template.metadata.labels, HASH_LABEL: hash_}),
        annotations=template.metadata.annotations,
        finalizers=template.metadata.finalizers,
        owner_references=(owner_reference_to(ds),),
    )
    return Pod(metadata=meta, spec=pin_to_node(with_daemon_tolerations(template.spec), node))
