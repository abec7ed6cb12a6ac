"""The ``batch/v1`` kinds load from and dump to Kubernetes' exact JSON, losslessly."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from controllers.api.batch import (
    ConcurrencyPolicy,
    CronJob,
    Job,
    PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule,
)
from reconcile import (
    FieldError,
    InvalidError,
    ObjectReference,
    Resource,
    ResourceVersion,
    Uid,
    from_json,
    kind_of,
    to_json,
)

POD_FAILURE_POLICY_JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "job-pod-failure-policy-example", "namespace": "default"},
    "spec": {
        "completions": 12,
        "parallelism": 3,
        "backoffLimit": 6,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": "docker.io/library/bash:5",
                        "command": ["bash"],
                        "args": ["-c", "echo 'Hello world!' && sleep 5 && exit 42"],
                    }
                ],
            }
        },
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]},
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                {
                    "action": "Count",
                    "onPodConditions": [{"type": "ConfigIssue", "status": "True"}],
                },
            ]
        },
    },
}

JOB_STATUS: dict[str, Any] = {
    "conditions": [
        {
            "type": "SuccessCriteriaMet",
            "status": "True",
            "lastProbeTime": "2025-03-01T10:01:05Z",
            "lastTransitionTime": "2025-03-01T10:01:05Z",
            "reason": "CompletionsReached",
            "message": "Reached expected number of succeeded pods",
        },
        {
            "type": "Complete",
            "status": "True",
            "lastProbeTime": "2025-03-01T10:01:05Z",
            "lastTransitionTime": "2025-03-01T10:01:05Z",
            "reason": "CompletionsReached",
            "message": "Reached expected number of succeeded pods",
        },
    ],
    "startTime": "2025-03-01T10:00:00Z",
    "completionTime": "2025-03-01T10:01:05Z",
    "succeeded": 12,
    "ready": 0,
    "terminating": 0,
    "uncountedTerminatedPods": {},
}

INDEXED_JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "job-backoff-limit-per-index"},
    "spec": {
        "completions": 10,
        "parallelism": 3,
        "completionMode": "Indexed",
        "backoffLimitPerIndex": 1,
        "maxFailedIndexes": 5,
        "podReplacementPolicy": "Failed",
        "ttlSecondsAfterFinished": 100,
        "suspend": False,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "example", "image": "python"}],
            }
        },
    },
    "status": {
        "active": 2,
        "failed": 3,
        "succeeded": 4,
        "ready": 2,
        "completedIndexes": "0,2-4",
        "failedIndexes": "1,5,7",
        "uncountedTerminatedPods": {"failed": ["5c1f2d4e-8c3c-4c5e-9a43-0b2c1d9e8f10"]},
    },
}

HELLO_CRONJOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "hello", "namespace": "default"},
    "spec": {
        "schedule": "* * * * *",
        "timeZone": "Etc/UTC",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 200,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
        "jobTemplate": {
            "metadata": {"labels": {"app": "hello"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "containers": [
                            {
                                "name": "hello",
                                "image": "busybox:1.28",
                                "imagePullPolicy": "IfNotPresent",
                                "command": [
                                    "/bin/sh",
                                    "-c",
                                    "date; echo Hello from the Kubernetes cluster",
                                ],
                            }
                        ],
                    }
                },
            },
        },
    },
    "status": {
        "active": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": "hello-28999981",
                "namespace": "default",
                "resourceVersion": "4182",
                "uid": "3c8b2a8e-0d7e-4f7b-9d0a-5b1f1c2e3d4f",
            }
        ],
        "lastScheduleTime": "2025-03-01T10:01:00Z",
        "lastSuccessfulTime": "2025-03-01T10:00:04Z",
    },
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
        POD_FAILURE_POLICY_JOB,
        {**POD_FAILURE_POLICY_JOB, "status": JOB_STATUS},
        INDEXED_JOB,
        HELLO_CRONJOB,
    ],
    ids=["job", "job-with-status", "indexed-job", "cronjob"],
)
def test_manifest_round_trips_unchanged(manifest: dict[str, Any]) -> None:
    """Loading a real-looking manifest and dumping it gives the same dict back."""
    assert manifest == _round_trip(manifest)


def test_pod_failure_policy_loads_typed_rules() -> None:
    """Each podFailurePolicy rule loads with its action, exit codes and pod conditions."""
    job = from_json(POD_FAILURE_POLICY_JOB, Job)
    assert job.spec.pod_failure_policy is not None
    expected = (
        PodFailurePolicyRule(
            action=PodFailurePolicyAction.FAIL_JOB,
            on_exit_codes=PodFailurePolicyOnExitCodesRequirement(
                container_name="main",
                operator=PodFailurePolicyOnExitCodesOperator.IN,
                values=(42,),
            ),
        ),
        PodFailurePolicyRule(
            action=PodFailurePolicyAction.IGNORE,
            on_pod_conditions=(PodFailurePolicyOnPodConditionsPattern(type="DisruptionTarget"),),
        ),
    )
    assert expected == job.spec.pod_failure_policy.rules[:2]


def test_unset_job_pointers_load_as_none() -> None:
    """Job fields that Kubernetes defaults later load as None when left out."""
    job = from_json({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"}}, Job)
    spec = job.spec
    unset = (
        spec.parallelism,
        spec.completions,
        spec.backoff_limit,
        spec.completion_mode,
        spec.suspend,
        spec.manual_selector,
        spec.pod_replacement_policy,
        job.status.ready,
        job.status.failed_indexes,
    )
    assert (None,) * len(unset) == unset


def test_empty_failed_indexes_is_kept_apart_from_unset() -> None:
    """failedIndexes: "" (tracked, none failed) round-trips, unlike an unset one."""
    manifest = copy.deepcopy(INDEXED_JOB)
    manifest["status"]["failedIndexes"] = ""
    job = from_json(manifest, Job)
    assert "" == job.status.failed_indexes
    assert manifest == to_json(job)


def test_indexed_job_status_loads_uids() -> None:
    """uncountedTerminatedPods lists pod UIDs."""
    job = from_json(INDEXED_JOB, Job)
    assert job.status.uncounted_terminated_pods is not None
    expected = (Uid("5c1f2d4e-8c3c-4c5e-9a43-0b2c1d9e8f10"),)
    assert expected == job.status.uncounted_terminated_pods.failed


def test_cronjob_loads_typed_values() -> None:
    """A CronJob's policy is an enum, its active jobs ObjectReferences, its times UTC."""
    cronjob = from_json(HELLO_CRONJOB, CronJob)
    assert ConcurrencyPolicy.FORBID == cronjob.spec.concurrency_policy
    assert 0 == cronjob.spec.job_template.spec.backoff_limit
    expected_active = ObjectReference(
        api_version="batch/v1",
        kind="Job",
        name="hello-28999981",
        namespace="default",
        resource_version=ResourceVersion("4182"),
        uid=Uid("3c8b2a8e-0d7e-4f7b-9d0a-5b1f1c2e3d4f"),
    )
    assert (expected_active,) == cronjob.status.active
    expected_time = dt.datetime(2025, 3, 1, 10, 1, tzinfo=dt.UTC)
    assert expected_time == cronjob.status.last_schedule_time


def test_job_condition_times_are_written_as_null_when_unset() -> None:
    """A Job condition's metav1.Time values are written as null, as Go writes them."""
    status = {"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]}
    job = from_json({**POD_FAILURE_POLICY_JOB, "status": status}, Job)
    expected = {
        "conditions": [
            {
                "type": "Suspended",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": None,
                "reason": "JobSuspended",
            }
        ]
    }
    assert expected == to_json(job)["status"]


def test_unknown_field_in_a_rule_is_reported_with_its_index() -> None:
    """A misspelt field inside a podFailurePolicy rule is named with the rule's index."""
    manifest = copy.deepcopy(POD_FAILURE_POLICY_JOB)
    manifest["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["operatr"] = "In"
    expected = [
        FieldError(
            field="spec.podFailurePolicy.rules[0].onExitCodes.operatr",
            type="Forbidden",
            detail="unknown field",
        )
    ]
    assert expected == list(_invalid(manifest).causes)


def test_unknown_action_is_reported_with_its_path() -> None:
    """An action outside FailJob/FailIndex/Ignore/Count is refused at its path."""
    manifest = copy.deepcopy(POD_FAILURE_POLICY_JOB)
    manifest["spec"]["podFailurePolicy"]["rules"][1]["action"] = "Retry"
    fields = [cause.field for cause in _invalid(manifest).causes]
    assert ["spec.podFailurePolicy.rules[1].action"] == fields


def test_rule_without_action_is_required() -> None:
    """A podFailurePolicy rule needs its action."""
    manifest = copy.deepcopy(POD_FAILURE_POLICY_JOB)
    del manifest["spec"]["podFailurePolicy"]["rules"][2]["action"]
    causes = [(c.field, c.type) for c in _invalid(manifest).causes]
    assert [("spec.podFailurePolicy.rules[2].action", "Required value")] == causes


@pytest.mark.parametrize(
    ("cls", "plural"),
    [(Job, "jobs"), (CronJob, "cronjobs")],
)
def test_kinds_are_declared_in_batch_v1(cls: type[Resource], plural: str) -> None:
    """Each kind lives in batch/v1 under Kubernetes' plural, namespaced, with status."""
    k = kind_of(cls)
    assert ("batch/v1", cls.__name__, f"{plural}.batch", True, True) == (
        k.api_version,
        k.kind,
        k.resource,
        k.namespaced,
        k.status_subresource,
    )
