"""
09 — Service traffic: which pod answers, during a rollout and when a pod turns unready.

A Deployment of three ``web:v1`` pods sits behind the Service ``web``. A
``curl`` loop (:meth:`~controllers.cluster.services.Services.request`,
which routes as kube-proxy does from the Service's EndpointSlices) prints
which pod answered. Then:

1. ``kubectl set image deployment/web app=web:v2``: while the rollout
   replaces pods, v1 and v2 pods both answer, then only v2 pods; no
   request fails, because a pod only receives traffic once its readiness
   probe passes, and leaves the rotation as soon as it is terminating;
2. a ``canary`` pod with the same labels joins; its readiness probe starts
   failing 20 s after it started (the script annotation
   ``unready=20s..``), and it leaves the rotation without being
   restarted: it stays in the Endpoints, under ``notReadyAddresses``.

Everything runs in virtual time: the minutes of the story take well under
a second.

Run it: ``python examples/09_service_traffic.py``.
"""

from __future__ import annotations

from collections import Counter

import reconcile
from controllers import Cluster
from controllers.api.core import Endpoints, Pod
from reconcile.testing import VirtualClock, run

PROBE = "readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1, failureThreshold: 1}"

MANIFEST = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: web:v1
        ports: [{{name: http, containerPort: 8080}}]
        {PROBE}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""

CANARY = f"""
apiVersion: v1
kind: Pod
metadata:
  name: canary
  labels: {{app: web}}
  annotations: {{script.sim.reconcile.dev/app: "unready=20s.."}}
spec:
  containers:
  - name: app
    image: web:canary
    ports: [{{name: http, containerPort: 8080}}]
    {PROBE}
"""


def _curl(cluster: Cluster, t: float) -> tuple[str, str]:
    """One request: a log line and the image of the pod that answered."""
    answer = cluster.request("web")
    pod: Pod = cluster.get("pod", answer.pod)
    image = pod.spec.containers[0].image
    return f"t={t:5.1f}s  {image:<11} {answer}", image


def _endpoints(cluster: Cluster) -> tuple[list[str], list[str]]:
    ep: Endpoints = cluster.get("endpoints", "web")
    ready = sorted(a.target_ref.name for s in ep.subsets for a in s.addresses if a.target_ref)
    unready = sorted(
        a.target_ref.name for s in ep.subsets for a in s.not_ready_addresses if a.target_ref
    )
    return ready, unready


async def main(clock: VirtualClock) -> dict[str, object]:
    """Tell the story; return the log and the facts the test checks."""
    lines: list[str] = []
    async with Cluster(nodes=3, seed=9, clock=clock) as cluster:
        start = clock.time()
        await cluster.apply(MANIFEST)
        await cluster.settle()
        lines.append("-- v1 behind the Service")
        lines.extend(_curl(cluster, clock.time() - start)[0] for _ in range(3))

        lines.append("-- kubectl set image deployment/web app=web:v2")
        await cluster.set_image("deployment", "web", {"app": "web:v2"})
        during: list[str] = []
        while not cluster.rollout_status("web").done:
            await cluster.advance(0.5)
            # Four requests per half second: who answers, by image.
            images = Counter(_curl(cluster, 0)[1] for _ in range(4))
            lines.append(
                f"t={clock.time() - start:5.1f}s  "
                + "  ".join(f"{image} x{n}" for image, n in sorted(images.items()))
            )
            during.extend(sorted(images.elements()))
        await cluster.settle()
        after = [_curl(cluster, clock.time() - start) for _ in range(3)]
        lines.extend(line for line, _ in after)

        lines.append("-- a canary joins; its readiness fails from 20 s on")
        await cluster.apply(CANARY)
        canary_answers = Counter[bool]()
        for _ in range(15):
            await cluster.advance(2)
            line, image = _curl(cluster, clock.time() - start)
            lines.append(line)
            canary_answers[image == "web:canary"] += 1
        ready, unready = _endpoints(cluster)
        lines.append(f"-- Endpoints: ready {ready}, not ready {unready}")
        canary: Pod = cluster.get("pod", "canary")
        last = [_curl(cluster, clock.time() - start)[1] for _ in range(20)]
        return {
            "lines": lines,
            "during": during,
            "after": [image for _, image in after],
            "canary_answered": canary_answers[True] > 0,
            "canary_not_ready": unready == ["canary"],
            "canary_restarts": sum(s.restart_count for s in canary.status.container_statuses),
            "last": sorted(set(last)),
        }


if __name__ == "__main__":
    reconcile.configure(level="WARNING")  # the printed lines, not the components' logs
    result = run(main)
    print("\n".join(str(line) for line in result["lines"]))  # type: ignore[attr-defined]
