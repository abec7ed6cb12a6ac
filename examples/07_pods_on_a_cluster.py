"""
07 — pods on the embedded cluster: scheduling, probes, restarts and a node that dies.

Three simulated nodes run three pods from the Kubernetes tutorials:

* ``web``: nginx with a readiness probe, Ready after its first probe;
* ``liveness-exec``: the liveness tutorial. The container deletes
  ``/tmp/healthy`` after 30 s, its ``cat /tmp/healthy`` probe fails three
  times, and the kubelet restarts it;
* ``crash``: ``sleep 5; exit 1`` under ``restartPolicy: Always``, which ends
  in ``CrashLoopBackOff`` with back-offs of 10 s, 20 s, 40 s...

Then ``web``'s node is cut off the network: 50 s later it is ``Unknown`` and
tainted ``unreachable``, and after the pods' 300 s toleration ``web`` is
evicted. Nothing runs for real: the containers follow their commands in
virtual time, so the whole story takes a fraction of a second.

Run it: ``python examples/07_pods_on_a_cluster.py``.
"""

from __future__ import annotations

import reconcile
from controllers import Cluster
from controllers.api.core import Node
from reconcile.testing import VirtualClock, run

MANIFEST = """
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: nginx
    image: nginx:1.27
    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}
---
apiVersion: v1
kind: Pod
metadata: {name: liveness-exec}
spec:
  containers:
  - name: liveness
    image: registry.k8s.io/busybox
    args: [/bin/sh, -c, "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
      initialDelaySeconds: 5
      periodSeconds: 5
---
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "sleep 5; exit 1"]
"""


def _table(cluster: Cluster, when: str, lines: list[str]) -> None:
    """``kubectl get pods -o wide``, under a line saying when."""
    lines.append(f"-- {when}")
    lines.extend(cluster.table("pods", wide=True).split("\n"))


def _ready(node: Node) -> str:
    return next((c.status for c in node.status.conditions if c.type == "Ready"), "?")


async def main(clock: VirtualClock) -> dict[str, object]:
    """Tell the story; return the tables and the facts the test checks."""
    lines: list[str] = []
    async with Cluster(nodes=3, seed=7, clock=clock) as cluster:
        start = clock.time()
        await cluster.apply(MANIFEST)
        await cluster.advance(10)
        _table(cluster, f"t={clock.time() - start:.0f}s scheduled and started", lines)
        await cluster.advance(60)
        _table(cluster, f"t={clock.time() - start:.0f}s liveness restarted, crash looping", lines)
        restarted = cluster.get("pod", "liveness-exec").status.container_statuses[0]
        web_node = cluster.get("pod", "web").spec.node_name
        cluster.cut_off(web_node)
        await cluster.advance(60)
        node = cluster.get("node", web_node)
        lines.append(
            f"-- t={clock.time() - start:.0f}s {web_node} Ready={_ready(node)}, "
            f"taints={[f'{t.key}:{t.effect}' for t in node.spec.taints]}"
        )
        await cluster.advance(300)
        _table(cluster, f"t={clock.time() - start:.0f}s web evicted from {web_node}", lines)
        web = cluster.get("pod", "web")
        reasons = [e.reason for e in cluster.events(cluster.get("pod", "liveness-exec"))]
        return {
            "lines": lines,
            "liveness_restarts": restarted.restart_count,
            "unknown": _ready(node),
            "taints": sorted(f"{t.key}:{t.effect}" for t in node.spec.taints),
            "web_terminating": web is not None and web.metadata.deletion_timestamp is not None,
            "liveness_events": sorted(set(reasons)),
        }


if __name__ == "__main__":
    reconcile.configure(level="WARNING")  # the printed lines, not the components' logs
    result = run(main)
    print("\n".join(str(line) for line in result["lines"]))  # type: ignore[attr-defined]
