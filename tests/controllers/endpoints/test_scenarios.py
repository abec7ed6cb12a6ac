"""
Endpoints and Service traffic end to end on :class:`controllers.Cluster`, in virtual time.

The cluster runs the whole control plane and simulated kubelets; a pod's
readiness follows its script annotation (``docs/container-scripts.md``),
probed every second. Containers start 1.5 s after a pod is bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from controllers import Cluster, run
from controllers.api.core import Endpoints, Pod
from controllers.api.discovery import EndpointSlice
from controllers.cluster.services import NoEndpointsError
from controllers.endpoints import MANAGED_BY_LABEL
from reconcile import NotFoundError

T = TypeVar("T")

PROBE = "readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1, failureThreshold: 1}"


def scenario(body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 2) -> T:
    """Run ``body`` with a fresh cluster."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=7) as cluster:
            return await body(cluster)

    return run(main)


def service_yaml(name: str = "web", *, extra: str = "", target: str = "http") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, labels: {{tier: front}}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: {target}}}]
{extra}"""


def pod_yaml(name: str, *, app: str = "web", script: str = "", ports: str = "http:8080") -> str:
    declared = ", ".join(
        f"{{name: {n}, containerPort: {p}}}" for n, p in (x.split(":") for x in ports.split())
    )
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
    image: app:v1
    ports: [{declared}]
    {PROBE}
"""


def deployment_yaml(name: str = "web", *, replicas: int = 3, image: str = "app:v1") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: app
        image: {image}
        ports: [{{name: http, containerPort: 8080}}]
        {PROBE}
"""


def members(cluster: Cluster, name: str = "web") -> tuple[list[str], list[str]]:
    """The pod names in the Endpoints' addresses and notReadyAddresses."""
    ep: Endpoints = cluster.get("endpoints", name)
    ready = sorted(a.target_ref.name for s in ep.subsets for a in s.addresses if a.target_ref)
    unready = sorted(
        a.target_ref.name for s in ep.subsets for a in s.not_ready_addresses if a.target_ref
    )
    return ready, unready


def restarts(cluster: Cluster, name: str) -> int:
    pod: Pod = cluster.get("pod", name)
    return sum(s.restart_count for s in pod.status.container_statuses)


def test_readiness_toggle_removes_and_restores_a_pod_without_restarts() -> None:
    """A failing readiness probe moves the pod to notReadyAddresses and back; no restart."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(service_yaml())
        await cluster.apply(pod_yaml("flaky", script="unready=10s..20s"))
        await cluster.apply(pod_yaml("steady"))
        await cluster.advance(5)
        assert (["flaky", "steady"], []) == members(cluster)
        await cluster.advance(8)  # container time ~11.5 s: inside the window
        assert (["steady"], ["flaky"]) == members(cluster)
        answered = {cluster.request("web").pod for _ in range(20)}
        assert {"steady"} == answered
        await cluster.advance(10)  # ~21.5 s: the window is over
        assert (["flaky", "steady"], []) == members(cluster)
        assert 0 == restarts(cluster, "flaky")

    scenario(body)


def test_rolling_update_moves_traffic_from_v1_to_v2() -> None:
    """During ``set image`` the answers move from v1 pods to v2 pods; every request succeeds."""

    async def body(cluster: Cluster) -> list[str]:
        await cluster.apply(deployment_yaml())
        await cluster.apply(service_yaml())
        await cluster.settle()
        images: list[str] = []

        def answer() -> None:
            pod: Pod = cluster.get("pod", cluster.request("web").pod)
            images.append(pod.spec.containers[0].image)

        answer()
        await cluster.set_image("deploy", "web", {"app": "app:v2"})
        for _ in range(30):
            await cluster.advance(0.5)
            answer()
        await cluster.settle()
        answer()
        return images

    images = scenario(body)
    assert "app:v1" == images[0]
    assert "app:v2" == images[-1]
    switch = images.index("app:v2")
    assert "app:v1" in images[switch:]  # both versions answer during the rollout
    assert images[-5:] == ["app:v2"] * 5


def test_session_affinity_client_ip_sticks_to_one_pod() -> None:
    """With ClientIP affinity each client keeps its pod; without it, clients are spread."""

    async def body(cluster: Cluster) -> tuple[dict[str, set[str]], set[str], set[str]]:
        await cluster.apply(deployment_yaml(replicas=4))
        await cluster.apply(
            service_yaml(
                extra="  sessionAffinity: ClientIP\n"
                "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}"
            )
        )
        await cluster.settle()
        seen: dict[str, set[str]] = {}
        for round_ in range(5):
            for client in range(8):
                ip = f"192.168.0.{client}"
                seen.setdefault(ip, set()).add(cluster.request("web", client_ip=ip).pod)
            await cluster.advance(10 * round_)  # gaps below the 60 s timeout
        first = cluster.request("web", client_ip="192.168.0.1").pod
        # A client idle longer than the timeout is balanced afresh.
        later = set()
        for _ in range(12):
            await cluster.advance(61)
            later.add(cluster.request("web", client_ip="192.168.0.1").pod)
        spread = {p for pods in seen.values() for p in pods}
        return seen, spread, later | {first}

    seen, spread, later = scenario(body)
    assert all(1 == len(pods) for pods in seen.values())
    assert len(spread) > 1
    assert len(later) > 1


def test_sticky_client_moves_when_its_pod_becomes_unready() -> None:
    """Affinity never outlives the endpoint: an unready pod's clients go elsewhere."""

    async def body(cluster: Cluster) -> tuple[str, str]:
        await cluster.apply(service_yaml(extra="  sessionAffinity: ClientIP"))
        await cluster.apply(pod_yaml("a", script="unready=20s..100s"))
        await cluster.apply(pod_yaml("b", script="unready=20s..100s"))
        await cluster.apply(pod_yaml("c"))
        await cluster.advance(5)
        clients = [f"10.0.0.{i}" for i in range(10)]
        before = {ip: cluster.request("web", client_ip=ip).pod for ip in clients}
        await cluster.advance(20)
        after = {ip: cluster.request("web", client_ip=ip).pod for ip in clients}
        moved = next(ip for ip in clients if before[ip] != "c")
        return before[moved], after[moved]

    before, after = scenario(body)
    assert before in ("a", "b")
    assert "c" == after


def test_selectorless_service_keeps_user_endpoints() -> None:
    """A Service without selector: the user's Endpoints is never rewritten nor deleted."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(
            """
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: db}
subsets:
- addresses: [{ip: 192.0.2.10}]
  ports: [{name: pg, port: 5432}]
"""
        )
        await cluster.settle()
        mine: Endpoints = cluster.get("endpoints", "db")
        assert MANAGED_BY_LABEL not in mine.metadata.labels
        assert "192.0.2.10" == cluster.request("db").ip  # as the mirrored slices would route
        assert [] == cluster.list("endpointslices")
        await cluster.delete("service", "db")
        await cluster.settle()
        assert (
            mine.metadata.resource_version
            == cluster.get("endpoints", "db").metadata.resource_version
        )

    scenario(body)


def test_named_target_port_skips_pods_lacking_it() -> None:
    """targetPort ``metrics``: only pods declaring it are listed for that port."""

    async def body(cluster: Cluster) -> dict[str, list[int]]:
        await cluster.apply(service_yaml(target="metrics"))
        await cluster.apply(pod_yaml("with", ports="http:8080 metrics:9100"))
        await cluster.apply(pod_yaml("without"))
        await cluster.settle()
        ep: Endpoints = cluster.get("endpoints", "web")
        return {
            a.target_ref.name: [p.port for p in s.ports]
            for s in ep.subsets
            for a in s.addresses
            if a.target_ref
        }

    assert {"with": [9100]} == scenario(body)


def test_terminating_pods_leave_the_endpoints_and_the_traffic() -> None:
    """A pod being deleted (slow to stop) leaves Endpoints at once; slices keep it terminating."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(service_yaml())
        await cluster.apply(pod_yaml("slow", script="stop=20s"))
        await cluster.apply(pod_yaml("quick"))
        await cluster.settle()
        await cluster.delete("pod", "slow")
        await cluster.advance(2)
        assert cluster.get("pod", "slow") is not None
        assert (["quick"], []) == members(cluster)
        (slice_,) = cluster.list("endpointslices")
        states = {
            e.target_ref.name: (e.conditions.ready, e.conditions.serving, e.conditions.terminating)
            for e in slice_.endpoints or ()
            if e.target_ref
        }
        assert {"quick": (True, True, False), "slow": (False, True, True)} == states
        assert {"quick"} == {cluster.request("web").pod for _ in range(10)}

    scenario(body)


def test_no_ready_endpoint_refuses_the_connection() -> None:
    """A Service whose pods are all unready refuses, naming the Service."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(service_yaml())
        await cluster.apply(pod_yaml("never", script="unready=.."))
        await cluster.settle()
        assert ([], ["never"]) == members(cluster)
        with pytest.raises(NoEndpointsError, match="default/web"):
            cluster.request("web")
        with pytest.raises(NotFoundError):
            cluster.request("nope")
        with pytest.raises(ValueError, match="port"):
            cluster.request("web", port=81)

    scenario(body)


def test_deleting_the_service_removes_endpoints_and_slices() -> None:
    """The controller's Endpoints goes with its Service; the slices go by garbage collection."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(service_yaml())
        await cluster.apply(pod_yaml("p"))
        await cluster.settle()
        assert 1 == len(cluster.list("endpointslices"))
        await cluster.delete("service", "web")
        await cluster.settle()
        assert cluster.get("endpoints", "web") is None
        assert [] == list(cluster.list(EndpointSlice))

    scenario(body)


def test_unrelated_pod_changes_write_nothing() -> None:
    """Relabelling a pod with an unrelated label and time passing leave the Endpoints as is."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(service_yaml())
        await cluster.apply(pod_yaml("p"))
        await cluster.settle()
        version = cluster.get("endpoints", "web").metadata.resource_version
        slice_version = cluster.list("endpointslices")[0].metadata.resource_version
        pod: Pod = cluster.get("pod", "p")
        await cluster.api.update(pod.with_meta(labels={**pod.metadata.labels, "extra": "x"}))
        await cluster.advance(300)
        assert version == cluster.get("endpoints", "web").metadata.resource_version
        assert slice_version == cluster.list("endpointslices")[0].metadata.resource_version

    scenario(body)


def test_deleted_endpoints_are_restored() -> None:
    """Deleting the controller's Endpoints brings it back at once."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(service_yaml())
        await cluster.apply(pod_yaml("p"))
        await cluster.settle()
        await cluster.delete("endpoints", "web")
        await cluster.settle()
        assert (["p"], []) == members(cluster)

    scenario(body)


def test_external_name_service_refuses_with_its_dns_name() -> None:
    """An ExternalName Service has no endpoints: the error says where DNS points."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(
            "{apiVersion: v1, kind: Service, metadata: {name: ext}, "
            "spec: {type: ExternalName, externalName: db.example.com}}"
        )
        await cluster.settle()
        with pytest.raises(NoEndpointsError, match=r"db\.example\.com"):
            cluster.request("ext")
        assert cluster.get("endpoints", "ext") is None

    scenario(body)
