"""Which Pod and Service events reach the endpoint controllers, and for which Services."""

from __future__ import annotations

import attrs

from controllers import Cluster, run
from controllers.api.core import ContainerState, ContainerStatus, Pod
from controllers.endpoints import (
    pod_endpoints_changed,
    selector_pair,
    service_spec_changed,
    services_of_pods,
)
from reconcile import FrozenDict
from tests.controllers.endpoints.builders import T0, pod, service


def restarted(p: Pod) -> Pod:
    """``p`` after a container restart that left it ready."""
    status = ContainerStatus(name="app", restart_count=3, ready=True, state=ContainerState())
    return attrs.evolve(p, status=attrs.evolve(p.status, container_statuses=(status,)))


def test_container_restarts_and_status_times_are_filtered_out() -> None:
    """A restart that keeps the pod ready, or a phase change, triggers no sync."""
    p = pod("p")
    assert not pod_endpoints_changed(p, restarted(p))
    pending = attrs.evolve(p, status=attrs.evolve(p.status, phase="Pending"))
    assert not pod_endpoints_changed(pending, p)


def test_what_endpoints_are_made_of_passes() -> None:
    """Readiness, IP, labels, deletion and a terminal phase each trigger a sync."""
    p = pod("p")
    assert pod_endpoints_changed(p, pod("p", ready=False))
    assert pod_endpoints_changed(p, pod("p", ip="10.244.9.9"))
    assert pod_endpoints_changed(p, pod("p", labels={"app": "other"}))
    assert pod_endpoints_changed(p, p.with_meta(deletion_timestamp=T0))
    assert pod_endpoints_changed(p, pod("p", phase="Failed"))
    assert pod_endpoints_changed(None, p)
    assert pod_endpoints_changed(p, None)


def test_service_status_writes_are_filtered_out() -> None:
    """Only spec and label changes of a Service trigger a sync."""
    s = service()
    assert not service_spec_changed(s, s.with_meta(resource_version="9"))
    assert service_spec_changed(s, service(publish_not_ready=True))
    assert service_spec_changed(s, service(labels={"tier": "x"}))


def test_services_are_indexed_under_one_selector_pair() -> None:
    """The smallest pair of the selector, with the namespace; nothing without a selector."""
    s = service(selector={"b": "2", "a": "1"})
    assert ("default/a=1",) == selector_pair(s)
    assert () == selector_pair(service(selector=None))
    assert FrozenDict({"b": "2", "a": "1"}) == s.spec.selector


def test_a_pod_maps_to_the_services_of_its_namespace_that_select_it() -> None:
    """The index finds exactly the selecting Services of the pod's namespace."""

    async def main() -> list[str]:
        async with Cluster(nodes=1, seed=1) as cluster:
            await cluster.apply(
                """
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: web-v2}
spec: {selector: {app: web, v: "2"}}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {selector: {app: db}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {}
"""
            )
            await cluster.settle()
            manager = cluster.managers()["kube-controller-manager"]
            mapper = services_of_pods(manager)
            keys = mapper(pod("p", labels={"app": "web", "v": "2", "tier": "x"}))
            return sorted(f"{k.namespace}/{k.name}" for k in keys)

    assert ["default/web", "default/web-v2"] == run(main)
