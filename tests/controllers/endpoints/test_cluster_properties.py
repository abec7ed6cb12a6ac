"""
Endpoints and EndpointSlices over the real embedded cluster, under random pods and readiness flaps.

Hypothesis draws a Service (named target ports, ``publishNotReadyAddresses``)
and pods whose scripts make their readiness probes fail in random windows,
then a story of waits, pod deletions, relabellings and new pods. After every
step the cluster settles, and the stored Endpoints must equal the plain
model of ``test_plan`` over the pods as stored at that moment, and the
slices must hold exactly the endpoints the pods call for.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import controllers
from controllers.api.core import Endpoints, Pod, Service
from controllers.api.discovery import EndpointSlice
from controllers.endpointslice import desired_endpoints, endpoint_key
from tests.controllers.endpoints.test_plan import flatten, model

PROBE = "readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1, failureThreshold: 1}"


@st.composite
def scripts(draw: st.DrawFn) -> str:
    """Zero to two readiness windows within the first minute."""
    windows = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, 50))
        windows.append(f"unready={start}s..{start + draw(st.integers(1, 15))}s")
    return "; ".join(windows)


@st.composite
def pod_manifests(draw: st.DrawFn, name: str) -> str:
    app = draw(st.sampled_from(["web", "web", "web", "db"]))
    ports = draw(st.lists(st.sampled_from(["http:8080", "metrics:9100"]), unique=True))
    declared = ", ".join(
        f"{{name: {n}, containerPort: {p}}}" for n, p in (x.split(":") for x in ports)
    )
    script = draw(scripts())
    annotation = f"annotations: {{script.sim.reconcile.dev/app: '{script}'}}" if script else ""
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {app}}}
  {annotation}
spec:
  containers:
  - name: app
    image: app
    ports: [{declared}]
    {PROBE}
"""


def service_manifest(publish: bool, metrics: bool) -> str:
    ports = "[{name: http, port: 80, targetPort: http}"
    ports += ", {name: metrics, port: 9090, targetPort: metrics}]" if metrics else "]"
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  publishNotReadyAddresses: {str(publish).lower()}
  ports: {ports}
"""


Step = tuple[str, Any]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.integers(1, 20)),
        st.tuples(st.just("delete"), st.integers(0, 9)),
        st.tuples(st.just("relabel"), st.integers(0, 9)),
        st.tuples(st.just("add"), st.integers(0, 9)),
    ),
    min_size=1,
    max_size=8,
)


def check(cluster: controllers.Cluster) -> None:
    """Endpoints and slices equal what the stored pods call for."""
    svc: Service = cluster.get("service", "web")
    pods: list[Pod] = list(cluster.list("pods", namespace="default"))
    ep: Endpoints = cluster.get("endpoints", "web")
    rows = flatten(ep.subsets)
    assert len(rows) == len(set(rows))
    assert model(svc, pods) == set(rows)
    wanted = desired_endpoints(svc, pods)
    slices: list[EndpointSlice] = list(cluster.list("endpointslices", namespace="default"))
    held = sorted(endpoint_key(e) for s in slices for e in s.endpoints or ())
    assert sorted(k for group in wanted.values() for k in group) == held
    for s in slices:
        for e in s.endpoints or ():
            assert wanted[tuple(s.ports or ())][endpoint_key(e)] == e


@settings(max_examples=40, deadline=None)
@given(st.data(), st.booleans(), st.booleans(), st.integers(1, 6), steps)
def test_endpoints_follow_pods_at_every_settle(
    data: st.DataObject, publish: bool, metrics: bool, count: int, story: list[Step]
) -> None:
    """After every step, Endpoints list the matching pods, ready or not, on the right ports."""
    manifests = [data.draw(pod_manifests(f"p{i}")) for i in range(count)]
    extra = [data.draw(pod_manifests(f"n{i}")) for i in range(len(story))]

    async def main() -> None:
        async with controllers.Cluster(nodes=2, seed=3) as cluster:
            await cluster.apply(service_manifest(publish, metrics))
            for manifest in manifests:
                await cluster.apply(manifest)
            await cluster.settle()
            check(cluster)
            for n, (action, arg) in enumerate(story):
                pods = list(cluster.list("pods", namespace="default"))
                target = pods[arg % len(pods)] if pods else None
                if action == "wait":
                    await cluster.advance(arg)
                elif action == "delete" and target is not None:
                    await cluster.delete("pod", target.metadata.name)
                elif action == "relabel" and target is not None:
                    app = "db" if target.metadata.labels.get("app") == "web" else "web"
                    await cluster.api.update(target.with_meta(labels={"app": app}))
                elif action == "add":
                    await cluster.apply(extra[n])
                await cluster.settle()
                check(cluster)

    controllers.run(main)
