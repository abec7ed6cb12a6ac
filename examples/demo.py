"""
The main demo: Kubernetes' rolling-update tutorial on the embedded cluster, step by step.

What ``kubectl`` users do in the "Updating a Deployment" tutorial, on a
three-node cluster that runs in this process (API server, scheduler,
controller manager with the Deployment and ReplicaSet controllers, and a
simulated kubelet per node):

1. create a Deployment of 4 ``nginx:1.14.2`` replicas;
2. ``kubectl set image`` to ``nginx:1.16.1``: the Deployment controller
   scales a new ReplicaSet up and the old one down, never above 5 pods
   (maxSurge 25% of 4, rounded up) nor below 3 available (maxUnavailable
   25%, rounded down). Each ``ScalingReplicaSet`` event is printed as it
   happens, with the ``kubectl get deployment -o wide`` and ``kubectl get rs``
   tables after each step;
3. ``kubectl rollout history``, then ``kubectl rollout undo``: back to
   ``nginx:1.14.2``, whose ReplicaSet is reused and becomes revision 3.

Everything runs in virtual time: the story takes about 15 simulated seconds
(each pod needs 1.5 s to pull its image and start) and well under a second
of real time. ``--verbose`` also prints the one summary line each reconcile
of the Deployment and ReplicaSet controllers logs.

Run it: ``./dev demo`` (or ``python -m examples.demo``).
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

import reconcile
from controllers import Cluster, kubectl
from reconcile.testing import VirtualClock, run

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
  annotations:
    kubernetes.io/change-cause: "kubectl create deployment nginx-deployment --image=nginx:1.14.2"
spec:
  replicas: 4
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
"""
NAME = "nginx-deployment"
TICK = 0.05  # simulated seconds between looks at the cluster


def _print(text: str = "") -> None:
    print(text, flush=True)


def _shell(command: str) -> None:
    _print(f"\n$ {command}")


async def _tables(cluster: Cluster) -> None:
    _print(cluster.table("deployment", wide=True))
    _print(cluster.table("rs"))


async def _rollout(cluster: Cluster, clock: VirtualClock, seen: list[str]) -> None:
    """
    Let the rollout under way run, one simulated instant at a time; whenever
    it scaled a ReplicaSet, print the new events and the tables as they stand.
    """
    began = clock.time()
    while True:
        await clock.advance(TICK)
        await clock.wait_idle()  # everything due at this instant has run
        events = [e.message for e in cluster.events(reason="ScalingReplicaSet")]
        fresh = events[len(seen) :]
        if fresh:
            _print()
            for message in fresh:
                _print(f"[{clock.time() - began:5.2f} s] ScalingReplicaSet: {message}")
            seen.extend(fresh)
            await _tables(cluster)
        status = cluster.rollout_status(NAME)
        if status.done or status.failed:
            _shell(f"kubectl rollout status deployment/{NAME}")
            _print(status.message)
            return


async def main(clock: VirtualClock) -> dict[str, object]:
    """Run the tutorial; return what a test checks (events, images, revisions)."""
    async with Cluster(nodes=3, seed=7, clock=clock) as cluster:
        _shell("kubectl apply -f nginx-deployment.yaml")
        await cluster.apply(MANIFEST)
        await cluster.settle()
        await _tables(cluster)
        seen = [e.message for e in cluster.events(reason="ScalingReplicaSet")]
        created = list(seen)

        _shell(f"kubectl set image deployment/{NAME} nginx=nginx:1.16.1")
        await cluster.set_image(
            "deployment",
            NAME,
            {"nginx": "nginx:1.16.1"},
            change_cause=f"kubectl set image deployment/{NAME} nginx=nginx:1.16.1",
        )
        await _rollout(cluster, clock, seen)
        update = seen[len(created) :]

        _shell(f"kubectl rollout history deployment/{NAME}")
        _print(kubectl.history_table(cluster.rollout_history(NAME)))

        _shell(f"kubectl rollout undo deployment/{NAME}")
        rollback = await cluster.rollout_undo(NAME)
        _print(rollback.message)
        done = len(seen)
        await _rollout(cluster, clock, seen)
        undo = seen[done:]

        _shell(f"kubectl rollout history deployment/{NAME}")
        history = cluster.rollout_history(NAME)
        _print(kubectl.history_table(history))
        _shell("kubectl get pods -l app=nginx -o wide")
        pods = cluster.list("pods", labels="app=nginx")
        _print(kubectl.pod_table(pods, now=clock.now(), wide=True))
        _print(f"\n{cluster.api.statistics().writes} writes, {clock.time():.1f} simulated seconds.")
        return {
            "created": created,
            "update": update,
            "undo": undo,
            "images": sorted({p.spec.containers[0].image for p in pods}),
            "pods": len(pods),
            "revisions": [(e.revision, e.change_cause) for e in history],
        }


def _render(clock: VirtualClock) -> Any:
    """One line per reconcile summary of the workload controllers, with the virtual time."""

    def render(_logger: object, _name: str, event: MutableMapping[str, Any]) -> str:
        controller = str(event.pop("controller", ""))
        if not controller.startswith(("deployment", "replicaset")):
            raise structlog.DropEvent
        key = event.pop("key", "")
        name = event.pop("event", "")
        event.pop("reconcile_id", None)
        event.pop("level", None)
        details = " ".join(f"{k}={v}" for k, v in event.items() if v is not None)
        return f"  [{clock.time():6.1f} s] {controller} {key}: {name} {details}"

    return render


if __name__ == "__main__":
    demo_clock = VirtualClock()
    if "--verbose" in sys.argv[1:]:
        reconcile.configure(level="DEBUG")
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                _render(demo_clock),
            ],
            logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        )
    else:
        reconcile.configure(level="CRITICAL")
    run(main, clock=demo_clock)
