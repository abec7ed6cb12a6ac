"""
The simulated kubelet: runs the pods bound to each simulated node.

Nothing is executed: each container follows a *script* (its command read as
a small shell program, or an annotation; see ``docs/container-scripts.md``
and :mod:`controllers.kubelet.script`), in virtual time. The layers:

* :mod:`~controllers.kubelet.script`: how a container behaves over time;
* :mod:`~controllers.kubelet.runtime`, :mod:`~controllers.kubelet.container`
  and :mod:`~controllers.kubelet.lifecycle`: the container runtime as values,
  one container's transitions (start, exit, probe ticks), and the pure event
  loop that plays pulls, starts, exits, probes, back-offs and termination;
* :mod:`~controllers.kubelet.status` and :mod:`~controllers.kubelet.qos`:
  the pod status Kubernetes would show for it;
* :mod:`~controllers.kubelet.fit`: whether a pod bound to the node fits
  what its admitted pods leave (or is rejected with ``OutOfcpu``...);
* :mod:`~controllers.kubelet.agent`: one node's in-memory state and faults;
* :mod:`~controllers.kubelet.reconciler` and :mod:`~controllers.kubelet.heartbeat`:
  the controllers that act for every node (pods; registration, node status
  and mirror pods);
* :mod:`~controllers.kubelet.lease`: the loop renewing every node's Lease
  (a manager runnable, as the kubelet's lease controller is a loop of its own).

Expected flow::

    fleet = kubelet.Fleet()
    kubelets = kubelet.setup(manager, fleet)
    kubelets.add_node(kubelet.NodeConfig(name="node-1"))
    async with manager: ...
"""

from __future__ import annotations

import attrs

import reconcile
from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.kubelet.agent import DEFAULT_CAPACITY, Fleet, NodeAgent, NodeConfig
from controllers.kubelet.heartbeat import (
    STATUS_REPORT_INTERVAL,
    Heartbeat,
    mirror_pod,
    node_status,
)
from controllers.kubelet.lease import LEASE_DURATION, RENEW_INTERVAL, LeaseRenewer
from controllers.kubelet.lifecycle import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    BACKOFF_RESET,
    EXIT_KILLED,
    Happening,
    admit,
    advance,
    crash_loop_delay,
    next_wake,
    stopped,
)
from controllers.kubelet.qos import qos_class
from controllers.kubelet.reconciler import PodWorker
from controllers.kubelet.runtime import ContainerRun, PodRuntime, Timings
from controllers.kubelet.script import (
    SCRIPT_ANNOTATION_PREFIX,
    ProbeKind,
    Script,
    ScriptError,
    Window,
    parse,
    script_for,
    validate_pod_scripts,
    validate_scripts,
)
from controllers.kubelet.status import phase, pod_status

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "BACKOFF_RESET",
    "DEFAULT_CAPACITY",
    "EXIT_KILLED",
    "LEASE_DURATION",
    "RENEW_INTERVAL",
    "SCRIPT_ANNOTATION_PREFIX",
    "STATUS_REPORT_INTERVAL",
    "ContainerRun",
    "Fleet",
    "Happening",
    "Heartbeat",
    "Kubelets",
    "LeaseRenewer",
    "NodeAgent",
    "NodeConfig",
    "PodRuntime",
    "PodWorker",
    "ProbeKind",
    "Script",
    "ScriptError",
    "Timings",
    "Window",
    "admit",
    "advance",
    "crash_loop_delay",
    "mirror_pod",
    "next_wake",
    "node_status",
    "parse",
    "phase",
    "pod_status",
    "qos_class",
    "script_for",
    "setup",
    "stopped",
    "validate_pod_scripts",
    "validate_scripts",
]


@attrs.frozen
class Kubelets:
    """The kubelet controllers of a manager and the fleet of node agents they serve."""

    fleet: Fleet
    pods: reconcile.Controller[Pod]
    nodes: reconcile.Controller[Node]
    pod_store: reconcile.Store[Pod]

    def add_node(self, config: NodeConfig) -> NodeAgent:
        """Start a node's agent; it registers its Node and starts heartbeating at once."""
        agent = self.fleet.add(config)
        self.nodes.enqueue(reconcile.ObjectKey("", config.name))
        return agent

    def poke(self, node: str) -> None:
        """Have the kubelet of ``node`` look at its node and every pod bound to it now."""
        self.nodes.enqueue(reconcile.ObjectKey("", node))
        for pod in self.pod_store.list():
            if pod.spec.node_name == node:
                self.pods.enqueue(pod.key)

    def touch(self, pod: reconcile.ObjectKey) -> None:
        """Have the kubelet look at ``pod`` now (after a fault changed its containers)."""
        self.pods.enqueue(pod)


def _not_status_only(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    """
    Pod events the kubelet acts on: adds, deletes, spec changes (binding and
    the deletion mark count) and annotation changes (scripts).

    Its own status writes are not: the runtime's timers say when the kubelet
    must look again, and the cache keeps the status current. (Status writes by
    others are, see :func:`setup`.)
    """
    if new is None:
        return True
    if old is None:  # an unbound pod is the scheduler's, not yet any kubelet's
        return not isinstance(new, Pod) or bool(new.spec.node_name)
    a, b = old.metadata, new.metadata
    return (
        a.generation != b.generation
        or a.deletion_timestamp != b.deletion_timestamp
        or a.deletion_grace_period_seconds != b.deletion_grace_period_seconds
        or a.annotations != b.annotations
    )


def setup(
    manager: reconcile.Manager,
    fleet: Fleet,
    *,
    events: bool = False,
) -> Kubelets:
    """
    Add the kubelet controllers for every node of ``fleet`` to ``manager``.

    With ``events``, each node's kubelet records the pods' events (Pulled,
    Created, Started, Killing, BackOff, Unhealthy...) as component
    ``kubelet`` on host ``<node>``, as Kubernetes does.
    """
    pods = manager.store(Pod)
    nodes = manager.store(Node)
    worker = PodWorker(manager.client, pods=pods, fleet=fleet, clock=manager.clock, events=events)

    def relevant(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
        if _not_status_only(old, new):
            return True
        # A status the kubelet does not agree with is set right (see PodWorker.agrees).
        return (
            isinstance(old, Pod)
            and isinstance(new, Pod)
            and old.status != new.status
            and not worker.agrees(new)
        )

    pod_controller: reconcile.Controller[Pod] = reconcile.Controller(
        name="kubelet-pods", reconciler=worker, for_=Pod, predicates=(relevant,)
    )

    def look_again(node: str) -> None:
        node_controller.enqueue(reconcile.ObjectKey("", node))

    renewer = LeaseRenewer(manager.client, fleet=fleet, clock=manager.clock, look_again=look_again)
    node_controller: reconcile.Controller[Node] = reconcile.Controller(
        name="kubelet-nodes",
        reconciler=Heartbeat(
            manager.client,
            nodes=nodes,
            pods=pods,
            fleet=fleet,
            clock=manager.clock,
            renewer=renewer,
        ),
        for_=Node,
    )
    manager.add(pod_controller)
    manager.add(node_controller)
    manager.add_runnable("kubelet-node-leases", renewer.run)
    return Kubelets(fleet=fleet, pods=pod_controller, nodes=node_controller, pod_store=pods)
