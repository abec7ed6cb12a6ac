"""The QoS class the kubelet reports: Kubernetes' Guaranteed, Burstable and BestEffort rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from controllers.api import load
from controllers.api.pod import Pod
from controllers.kubelet.qos import BEST_EFFORT, BURSTABLE, GUARANTEED, qos_class


def _container(
    name: str,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = dict(requests)
    if limits is not None:
        resources["limits"] = dict(limits)
    return {"name": name, "image": "nginx", "resources": resources}


def _qos(containers: Sequence[dict[str, Any]], init: Sequence[dict[str, Any]] = ()) -> str:
    pod = load(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": list(containers), "initContainers": list(init)},
        }
    )
    assert isinstance(pod, Pod)
    return qos_class(pod.spec)


BOTH = {"cpu": "500m", "memory": "128Mi"}


def test_no_requests_or_limits_is_best_effort() -> None:
    assert _qos([_container("a"), _container("b")]) == BEST_EFFORT


def test_only_other_resources_is_still_best_effort() -> None:
    assert _qos([_container("a", limits={"ephemeral-storage": "1Gi"})]) == BEST_EFFORT


def test_zero_quantities_count_as_unset() -> None:
    assert _qos([_container("a", requests={"cpu": "0"})]) == BEST_EFFORT


def test_equal_requests_and_limits_for_cpu_and_memory_is_guaranteed() -> None:
    assert _qos([_container("a", requests=BOTH, limits=BOTH)]) == GUARANTEED


def test_requests_default_to_limits_so_limits_alone_are_guaranteed() -> None:
    assert _qos([_container("a", limits=BOTH)]) == GUARANTEED


def test_equal_quantities_in_different_units_are_guaranteed() -> None:
    requests = {"cpu": "0.5", "memory": "134217728"}
    assert _qos([_container("a", requests=requests, limits=BOTH)]) == GUARANTEED


def test_requests_below_limits_is_burstable() -> None:
    requests = {"cpu": "250m", "memory": "128Mi"}
    assert _qos([_container("a", requests=requests, limits=BOTH)]) == BURSTABLE


def test_only_requests_is_burstable() -> None:
    assert _qos([_container("a", requests=BOTH)]) == BURSTABLE


def test_limiting_only_cpu_is_burstable() -> None:
    assert _qos([_container("a", limits={"cpu": "1"})]) == BURSTABLE


def test_one_guaranteed_and_one_best_effort_container_is_burstable() -> None:
    assert _qos([_container("a", limits=BOTH), _container("b")]) == BURSTABLE


@pytest.mark.parametrize(
    ("init", "expected"),
    [
        (_container("setup", limits=BOTH), GUARANTEED),
        (_container("setup"), BURSTABLE),
        (_container("setup", requests={"cpu": "100m"}), BURSTABLE),
    ],
)
def test_init_containers_count_like_app_containers(init: dict[str, Any], expected: str) -> None:
    assert _qos([_container("a", limits=BOTH)], init=[init]) == expected


def test_an_init_container_with_requests_makes_a_best_effort_pod_burstable() -> None:
    assert _qos([_container("a")], init=[_container("setup", requests={"memory": "1Gi"})]) == (
        BURSTABLE
    )
