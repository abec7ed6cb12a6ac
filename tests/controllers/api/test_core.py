"""The core/v1 kinds: JSON names, presence rules, kind metadata and round trips."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

import reconcile
from controllers.api import (
    ConfigMap,
    Container,
    ContainerPort,
    ContainerStatus,
    Endpoints,
    EndpointSlice,
    Event,
    Lease,
    Namespace,
    Node,
    NodeSpec,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    Probe,
    ResourceRequirements,
    Taint,
    Toleration,
)
from controllers.api.core import ContainerState, ContainerStateRunning, HTTPGetAction
from reconcile import FrozenDict, ObjectMeta, from_json, kind_of, to_json

T0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)

names = st.from_regex(r"\A[a-z]([-a-z0-9]{0,6}[a-z0-9])?\Z")
times = st.none() | st.integers(0, 10**6).map(lambda s: T0 + dt.timedelta(seconds=s))
ports = st.integers(1, 65535)
probes = st.builds(
    Probe,
    http_get=st.none() | st.builds(HTTPGetAction, port=ports | names, path=st.just("/healthz")),
    initial_delay_seconds=st.integers(0, 30),
    failure_threshold=st.integers(0, 5),
)
containers = st.builds(
    Container,
    name=names,
    image=st.sampled_from(["nginx:1.27", "busybox", ""]),
    args=st.lists(names, max_size=2).map(tuple),
    ports=st.lists(st.builds(ContainerPort, container_port=ports, name=names), max_size=2).map(
        tuple
    ),
    resources=st.none()
    | st.builds(
        ResourceRequirements,
        requests=st.dictionaries(
            st.sampled_from(["cpu", "memory"]), st.sampled_from(["100m", "64Mi", 1])
        ).map(FrozenDict),
    ),
    liveness_probe=st.none() | probes,
)
statuses = st.builds(
    ContainerStatus,
    name=names,
    ready=st.booleans(),
    restart_count=st.integers(0, 5),
    state=st.builds(
        ContainerState,
        running=st.none() | st.builds(ContainerStateRunning, started_at=times),
    ),
    started=st.none() | st.booleans(),
)
pods = st.builds(
    Pod,
    metadata=st.builds(ObjectMeta, name=names, namespace=st.just("default")),
    spec=st.builds(
        PodSpec,
        containers=st.lists(containers, max_size=2).map(tuple),
        node_name=st.just("") | names,
        priority=st.none() | st.integers(-10, 10),
        tolerations=st.lists(
            st.builds(
                Toleration,
                key=names,
                operator=st.sampled_from(["", "Equal", "Exists"]),
                toleration_seconds=st.none() | st.integers(0, 300),
            ),
            max_size=2,
        ).map(tuple),
    ),
    status=st.builds(
        PodStatus,
        phase=st.sampled_from(["", "Pending", "Running", "Succeeded", "Failed"]),
        conditions=st.lists(
            st.builds(
                PodCondition,
                type=st.sampled_from(["PodScheduled", "Ready"]),
                status=st.sampled_from(["True", "False", "Unknown"]),
                last_transition_time=times,
            ),
            max_size=2,
        ).map(tuple),
        container_statuses=st.lists(statuses, max_size=2).map(tuple),
        start_time=times,
    ),
)


@given(pods)
def test_pod_round_trips_through_json(pod: Pod) -> None:
    """from_json(to_json(pod)) gives back an equal Pod."""
    assert pod == from_json(to_json(pod), Pod)


def test_fields_go_always_writes_are_written_when_zero() -> None:
    """restartCount, ready, imageID, lastState and lastProbeTime appear even when empty."""
    status = PodStatus(
        conditions=(PodCondition(type="Ready", status="False"),),
        container_statuses=(ContainerStatus(name="web", image="nginx"),),
    )
    expected = {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": None,
                }
            ],
            "containerStatuses": [
                {
                    "name": "web",
                    "state": {},
                    "lastState": {},
                    "ready": False,
                    "restartCount": 0,
                    "image": "nginx",
                    "imageID": "",
                }
            ],
        }
    }
    actual = to_json(Pod(status=status))
    assert expected == {k: v for k, v in actual.items() if k == "status"}


def test_pointer_fields_keep_explicit_zero_values() -> None:
    """priority: 0 and an empty resources object are kept, unlike unset ones."""
    pod = Pod(spec=PodSpec(priority=0, containers=(Container(resources=ResourceRequirements()),)))
    assert {"priority": 0, "containers": [{"name": "", "resources": {}}]} == to_json(pod)["spec"]


def test_container_requests_are_empty_without_resources() -> None:
    """Container.requests and .limits read through an unset resources field."""
    assert (FrozenDict(), FrozenDict()) == (Container().requests, Container().limits)


def test_node_is_cluster_scoped_and_selectable_by_unschedulable() -> None:
    """Node has no namespace and offers spec.unschedulable to field selectors."""
    node = Node(
        metadata=ObjectMeta(name="node-1"),
        spec=NodeSpec(unschedulable=True, taints=(Taint(key="k", effect="NoSchedule"),)),
    )
    expected = {"metadata.name": "node-1", "spec.unschedulable": "true"}
    assert expected == kind_of(Node).fields_of(node)
    assert not kind_of(Node).namespaced


def test_pod_selectable_fields() -> None:
    """Pods are selectable by spec.nodeName and status.phase, as in Kubernetes."""
    pod = Pod(
        metadata=ObjectMeta(name="p", namespace="ns"),
        spec=PodSpec(node_name="node-1"),
        status=PodStatus(phase="Running"),
    )
    fields = kind_of(Pod).fields_of(pod)
    assert ("node-1", "Running", "ns") == (
        fields["spec.nodeName"],
        fields["status.phase"],
        fields["metadata.namespace"],
    )


def test_kind_coordinates() -> None:
    """Each kind is declared with Kubernetes' apiVersion, plural and scope."""
    expected = [
        ("v1", "Pod", "pods", True, True),
        ("v1", "Node", "nodes", False, True),
        ("v1", "Namespace", "namespaces", False, True),
        ("v1", "Endpoints", "endpoints", True, False),
        ("v1", "ConfigMap", "configmaps", True, False),
        ("discovery.k8s.io/v1", "EndpointSlice", "endpointslices", True, False),
    ]
    actual = [
        (k.api_version, k.kind, k.plural, k.namespaced, k.status_subresource)
        for k in map(kind_of, (Pod, Node, Namespace, Endpoints, ConfigMap, EndpointSlice))
    ]
    assert expected == actual


def test_event_and_lease_are_the_frameworks_own() -> None:
    """Event and Lease are re-exported from reconcile, not redeclared."""
    assert (reconcile.Event, reconcile.Lease) == (Event, Lease)
