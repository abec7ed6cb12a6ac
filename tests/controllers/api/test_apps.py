"""The ``apps/v1`` kinds load from and dump to Kubernetes' exact JSON, losslessly."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
import yaml
from hypothesis import given

from controllers.api import dump, load_all
from controllers.api.apps import (
    ControllerRevision,
    DaemonSet,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentCondition,
    DeploymentStrategy,
    DeploymentStrategyType,
    ReplicaSet,
    RollingUpdateDeployment,
)
from reconcile import (
    ConditionStatus,
    FieldError,
    InvalidError,
    LabelSelector,
    Resource,
    from_json,
    kind_of,
    to_json,
)
from tests.controllers.api.strategies import deployments

NGINX_DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}

DEPLOYMENT_STATUS: dict[str, Any] = {
    "observedGeneration": 2,
    "replicas": 3,
    "updatedReplicas": 3,
    "readyReplicas": 3,
    "availableReplicas": 3,
    "conditions": [
        {
            "type": "Available",
            "status": "True",
            "lastUpdateTime": "2025-03-01T10:00:12Z",
            "lastTransitionTime": "2025-03-01T10:00:12Z",
            "reason": "MinimumReplicasAvailable",
            "message": "Deployment has minimum availability.",
        },
        {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": "2025-03-01T10:05:40Z",
            "lastTransitionTime": "2025-03-01T10:00:00Z",
            "reason": "NewReplicaSetAvailable",
            "message": 'ReplicaSet "nginx-deployment-77d8468669" has successfully progressed.',
        },
    ],
}

FLUENTD_DAEMONSET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {
        "name": "fluentd-elasticsearch",
        "namespace": "kube-system",
        "labels": {"k8s-app": "fluentd-logging"},
    },
    "spec": {
        "selector": {"matchLabels": {"name": "fluentd-elasticsearch"}},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"name": "fluentd-elasticsearch"}},
            "spec": {
                "tolerations": [
                    {
                        "key": "node-role.kubernetes.io/control-plane",
                        "operator": "Exists",
                        "effect": "NoSchedule",
                    },
                    {
                        "key": "node-role.kubernetes.io/master",
                        "operator": "Exists",
                        "effect": "NoSchedule",
                    },
                ],
                "containers": [
                    {
                        "name": "fluentd-elasticsearch",
                        "image": "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
                        "resources": {
                            "limits": {"memory": "200Mi"},
                            "requests": {"cpu": "100m", "memory": "200Mi"},
                        },
                    }
                ],
                "terminationGracePeriodSeconds": 30,
            },
        },
    },
    "status": {
        "currentNumberScheduled": 3,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 3,
        "numberReady": 2,
        "observedGeneration": 1,
        "updatedNumberScheduled": 3,
        "numberAvailable": 2,
        "numberUnavailable": 1,
    },
}

SCALED_DOWN_REPLICASET_STATUS: dict[str, Any] = {"replicas": 0, "observedGeneration": 4}

FRONTEND_REPLICASET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "frontend", "labels": {"app": "guestbook", "tier": "frontend"}},
    "spec": {
        "replicas": 3,
        "minReadySeconds": 5,
        "selector": {
            "matchLabels": {"tier": "frontend"},
            "matchExpressions": [{"key": "app", "operator": "In", "values": ["guestbook"]}],
        },
        "template": {
            "metadata": {"labels": {"app": "guestbook", "tier": "frontend"}},
            "spec": {
                "containers": [
                    {
                        "name": "php-redis",
                        "image": "us-docker.pkg.dev/google-samples/gb-frontend:v5",
                    }
                ]
            },
        },
    },
    "status": {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "ReplicaFailure",
                "status": "True",
                "lastTransitionTime": "2025-03-01T10:00:00Z",
                "reason": "FailedCreate",
                "message": 'pods "frontend-x7k2p" is forbidden: exceeded quota',
            }
        ],
    },
}

CONTROLLER_REVISION: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ControllerRevision",
    "metadata": {"name": "fluentd-elasticsearch-5c7b9d6f8", "namespace": "kube-system"},
    "data": {
        "spec": {
            "template": {
                "$patch": "replace",
                "metadata": {"labels": {"name": "fluentd-elasticsearch"}},
                "spec": {"containers": [{"name": "fluentd", "image": "fluentd:v2.5.2"}]},
            }
        }
    },
    "revision": 2,
}


def _round_trip(manifest: dict[str, Any]) -> dict[str, Any]:
    """Load ``manifest`` through JSON text and dump it again."""
    return to_json(from_json(json.loads(json.dumps(manifest))))


def _invalid(manifest: dict[str, Any]) -> InvalidError:
    """The InvalidError that loading ``manifest`` raises."""
    with pytest.raises(InvalidError) as info:
        from_json(manifest)
    return info.value


@pytest.mark.parametrize(
    "manifest",
    [
        NGINX_DEPLOYMENT,
        {**NGINX_DEPLOYMENT, "status": DEPLOYMENT_STATUS},
        FLUENTD_DAEMONSET,
        FRONTEND_REPLICASET,
        {**FRONTEND_REPLICASET, "status": SCALED_DOWN_REPLICASET_STATUS},
        CONTROLLER_REVISION,
    ],
    ids=[
        "deployment",
        "deployment-with-status",
        "daemonset",
        "replicaset",
        "replicaset-scaled-down",
        "revision",
    ],
)
def test_manifest_round_trips_unchanged(manifest: dict[str, Any]) -> None:
    """Loading a real-looking manifest and dumping it gives the same dict back."""
    assert manifest == _round_trip(manifest)


def test_yaml_manifest_loads_and_dumps_unchanged() -> None:
    """A multi-document YAML manifest loads through controllers.api and dumps as written."""
    text = yaml.safe_dump_all([NGINX_DEPLOYMENT, FLUENTD_DAEMONSET], explicit_start=True)
    objects = load_all(text)
    assert [Deployment, DaemonSet] == [type(o) for o in objects]
    assert [NGINX_DEPLOYMENT, FLUENTD_DAEMONSET] == [dump(o) for o in objects]


def test_nginx_deployment_loads_typed_values() -> None:
    """Strategy percentages stay strings, counts stay ints, the type becomes an enum."""
    deployment = from_json(NGINX_DEPLOYMENT, Deployment)
    expected = DeploymentStrategy(
        type=DeploymentStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateDeployment(max_unavailable="25%", max_surge="25%"),
    )
    assert expected == deployment.spec.strategy
    assert 3 == deployment.spec.replicas
    assert LabelSelector(match_labels={"app": "nginx"}) == deployment.spec.selector


def test_deployment_status_loads_conditions_with_both_times() -> None:
    """A Deployment condition keeps lastUpdateTime apart from lastTransitionTime."""
    deployment = from_json({**NGINX_DEPLOYMENT, "status": DEPLOYMENT_STATUS}, Deployment)
    expected = DeploymentCondition(
        type="Progressing",
        status=ConditionStatus.TRUE,
        last_update_time=dt.datetime(2025, 3, 1, 10, 5, 40, tzinfo=dt.UTC),
        last_transition_time=dt.datetime(2025, 3, 1, 10, 0, 0, tzinfo=dt.UTC),
        reason="NewReplicaSetAvailable",
        message='ReplicaSet "nginx-deployment-77d8468669" has successfully progressed.',
    )
    assert expected == deployment.status.conditions[1]


def test_unset_pointers_load_as_none_and_stay_absent() -> None:
    """replicas, revisionHistoryLimit and progressDeadlineSeconds left out stay left out."""
    manifest = copy.deepcopy(NGINX_DEPLOYMENT)
    for name in ("replicas", "revisionHistoryLimit", "progressDeadlineSeconds", "strategy"):
        del manifest["spec"][name]
    deployment = from_json(manifest, Deployment)
    spec = deployment.spec
    assert (None, None, None) == (
        spec.replicas,
        spec.revision_history_limit,
        spec.progress_deadline_seconds,
    )
    assert manifest == to_json(deployment)


def test_fields_go_always_writes_are_written_when_zero() -> None:
    """The counts Go writes without omitempty are dumped even at zero, times as null."""
    status = {"replicas": 0, "conditions": [{"type": "ReplicaFailure", "status": "False"}]}
    replicaset = from_json({**FRONTEND_REPLICASET, "status": status}, ReplicaSet)
    expected = {
        "replicas": 0,
        "conditions": [{"type": "ReplicaFailure", "status": "False", "lastTransitionTime": None}],
    }
    assert expected == to_json(replicaset)["status"]


def test_zero_pointers_are_kept_apart_from_unset() -> None:
    """replicas: 0 and revisionHistoryLimit: 0 are written back, unlike unset ones."""
    manifest = copy.deepcopy(NGINX_DEPLOYMENT)
    manifest["spec"].update(replicas=0, revisionHistoryLimit=0, progressDeadlineSeconds=0)
    assert manifest == _round_trip(manifest)


def test_recreate_strategy_and_integer_bounds_round_trip() -> None:
    """A Recreate strategy and integer maxSurge/maxUnavailable round-trip."""
    manifest = copy.deepcopy(NGINX_DEPLOYMENT)
    manifest["spec"]["strategy"] = {"type": "Recreate"}
    assert manifest == _round_trip(manifest)
    manifest["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert manifest == _round_trip(manifest)


def test_daemonset_update_strategy_loads_typed_values() -> None:
    """A DaemonSet's updateStrategy type is an enum and its bound an int."""
    daemonset = from_json(FLUENTD_DAEMONSET, DaemonSet)
    strategy = daemonset.spec.update_strategy
    assert DaemonSetUpdateStrategyType.ROLLING_UPDATE == strategy.type
    assert strategy.rolling_update is not None
    assert 1 == strategy.rolling_update.max_unavailable


def test_unknown_field_is_reported_with_its_path() -> None:
    """A misspelt field deep in the strategy is named by its full JSON path."""
    manifest = copy.deepcopy(NGINX_DEPLOYMENT)
    manifest["spec"]["strategy"]["rollingUpdate"]["maxSurgee"] = 1
    expected = [
        FieldError(
            field="spec.strategy.rollingUpdate.maxSurgee", type="Forbidden", detail="unknown field"
        )
    ]
    assert expected == list(_invalid(manifest).causes)


@pytest.mark.parametrize("value", [1.5, True, ["25%"], {"value": 1}])
def test_int_or_string_rejects_other_json_types(value: object) -> None:
    """maxSurge accepts an integer or a string, and nothing else."""
    manifest = copy.deepcopy(NGINX_DEPLOYMENT)
    manifest["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = value
    fields = [cause.field for cause in _invalid(manifest).causes]
    assert ["spec.strategy.rollingUpdate.maxSurge"] == fields


def test_unknown_strategy_type_is_reported_with_its_path() -> None:
    """A strategy type outside RollingUpdate/Recreate is refused at spec.strategy.type."""
    manifest = copy.deepcopy(NGINX_DEPLOYMENT)
    manifest["spec"]["strategy"]["type"] = "BlueGreen"
    fields = [cause.field for cause in _invalid(manifest).causes]
    assert ["spec.strategy.type"] == fields


def test_condition_without_status_is_required() -> None:
    """A Deployment condition needs its status."""
    status = copy.deepcopy(DEPLOYMENT_STATUS)
    del status["conditions"][0]["status"]
    causes = _invalid({**NGINX_DEPLOYMENT, "status": status}).causes
    assert [("status.conditions[0].status", "Required value")] == [
        (c.field, c.type) for c in causes
    ]


@pytest.mark.parametrize(
    ("cls", "plural", "status_subresource"),
    [
        (ReplicaSet, "replicasets", True),
        (Deployment, "deployments", True),
        (DaemonSet, "daemonsets", True),
        (ControllerRevision, "controllerrevisions", False),
    ],
)
def test_kinds_are_declared_in_apps_v1(
    cls: type[Resource], plural: str, status_subresource: bool
) -> None:
    """Each kind lives in apps/v1 under Kubernetes' plural, namespaced."""
    k = kind_of(cls)
    assert ("apps/v1", cls.__name__, plural, True, status_subresource) == (
        k.api_version,
        k.kind,
        k.resource.removesuffix(".apps"),
        k.namespaced,
        k.status_subresource,
    )


@given(deployments)
def test_generated_deployment_round_trips(deployment: Deployment) -> None:
    """Any Deployment survives dumping to JSON text and loading back, and dumps stably."""
    dumped = to_json(deployment)
    loaded = from_json(json.loads(json.dumps(dumped)), Deployment)
    assert deployment == loaded
    assert dumped == to_json(loaded)
