"""
Shared validation helpers and the validation of Pods (see :mod:`controllers.api.validation`).

Private: the workload validators reuse the pod-spec checks for their
templates, and this split keeps both modules small.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from controllers.api.container import Container, Probe
from controllers.api.defaults import default_pod
from controllers.api.pod import Pod, PodSpec
from reconcile import FieldError, LabelSelector, Operation

__all__ = [
    "DUPLICATE",
    "FORBIDDEN",
    "IMMUTABLE",
    "PERCENT",
    "REQUIRED",
    "UNSUPPORTED",
    "Errors",
    "at_least",
    "one_of",
    "pod_spec",
    "selector_value",
    "spec_unchanged",
    "validate_pod",
]

Errors = list[FieldError]

REQUIRED = "Required value"
UNSUPPORTED = "Unsupported value"
DUPLICATE = "Duplicate value"
FORBIDDEN = "Forbidden"
IMMUTABLE = "field is immutable"

PERCENT = re.compile(r"[0-9]+%")
_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("TCP", "UDP", "SCTP")


def _supported(values: tuple[str, ...]) -> str:
    return "supported values: " + ", ".join(f'"{v}"' for v in values)


def at_least(errors: Errors, path: str, value: int | None, minimum: int) -> None:
    if value is not None and value < minimum:
        errors.append(
            FieldError(
                field=path,
                value=value,
                detail=f"must be greater than or equal to {minimum}",
            )
        )


def one_of(errors: Errors, path: str, value: str, allowed: tuple[str, ...]) -> None:
    if not value:
        errors.append(FieldError(field=path, type=REQUIRED, detail=_supported(allowed)))
    elif value not in allowed:
        errors.append(
            FieldError(field=path, type=UNSUPPORTED, value=value, detail=_supported(allowed))
        )


def selector_value(selector: LabelSelector) -> dict[str, Any]:
    """The selector as Kubernetes writes it, for error messages."""
    value: dict[str, Any] = {}
    if selector.match_labels:
        value["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        value["matchExpressions"] = [
            {"key": r.key, "operator": r.operator.value, "values": list(r.values)}
            for r in selector.match_expressions
        ]
    return value


def spec_unchanged(new: Any, old: Any, op: Operation) -> bool:
    """Whether this write leaves the spec alone (delete, status or metadata update)."""
    return op is Operation.DELETE or (old is not None and new.spec == old.spec)


# -- pods ----------------------------------------------------------------------------------


def _probe(errors: Errors, path: str, probe: Probe | None, *, single_success: bool) -> None:
    if probe is None:
        return
    at_least(errors, f"{path}.initialDelaySeconds", probe.initial_delay_seconds, 0)
    at_least(errors, f"{path}.timeoutSeconds", probe.timeout_seconds, 1)
    at_least(errors, f"{path}.periodSeconds", probe.period_seconds, 1)
    at_least(errors, f"{path}.successThreshold", probe.success_threshold, 1)
    at_least(errors, f"{path}.failureThreshold", probe.failure_threshold, 1)
    if single_success and probe.success_threshold > 1:
        errors.append(
            FieldError(
                field=f"{path}.successThreshold", value=probe.success_threshold, detail="must be 1"
            )
        )


def _container(errors: Errors, path: str, container: Container, names: set[str]) -> None:
    if not container.name:
        errors.append(FieldError(field=f"{path}.name", type=REQUIRED))
    elif container.name in names:
        errors.append(FieldError(field=f"{path}.name", type=DUPLICATE, value=container.name))
    names.add(container.name)
    if not container.image:
        errors.append(FieldError(field=f"{path}.image", type=REQUIRED))
    if container.image_pull_policy:
        one_of(errors, f"{path}.imagePullPolicy", container.image_pull_policy, _PULL_POLICIES)
    for i, port in enumerate(container.ports):
        if not 1 <= port.container_port <= 65535:
            errors.append(
                FieldError(
                    field=f"{path}.ports[{i}].containerPort",
                    value=port.container_port,
                    detail="must be between 1 and 65535, inclusive",
                )
            )
        if port.protocol:
            one_of(errors, f"{path}.ports[{i}].protocol", port.protocol, _PROTOCOLS)
    _probe(errors, f"{path}.livenessProbe", container.liveness_probe, single_success=True)
    _probe(errors, f"{path}.readinessProbe", container.readiness_probe, single_success=False)
    _probe(errors, f"{path}.startupProbe", container.startup_probe, single_success=True)


def pod_spec(
    errors: Errors, path: str, spec: PodSpec, restart_policies: tuple[str, ...] = _RESTART_POLICIES
) -> None:
    names: set[str] = set()
    for i, c in enumerate(spec.init_containers):
        _container(errors, f"{path}.initContainers[{i}]", c, names)
    if not spec.containers:
        errors.append(FieldError(field=f"{path}.containers", type=REQUIRED))
    for i, c in enumerate(spec.containers):
        _container(errors, f"{path}.containers[{i}]", c, names)
    one_of(errors, f"{path}.restartPolicy", spec.restart_policy, restart_policies)
    at_least(
        errors, f"{path}.terminationGracePeriodSeconds", spec.termination_grace_period_seconds, 0
    )
    at_least(errors, f"{path}.activeDeadlineSeconds", spec.active_deadline_seconds, 1)


def _mutable_pod_fields(spec: PodSpec, like: PodSpec) -> PodSpec:
    """``spec`` with the fields a pod update may change taken from ``like``."""
    if len(spec.containers) != len(like.containers) or len(spec.init_containers) != len(
        like.init_containers
    ):
        return spec
    return attrs.evolve(
        spec,
        containers=tuple(
            attrs.evolve(c, image=o.image)
            for c, o in zip(spec.containers, like.containers, strict=True)
        ),
        init_containers=tuple(
            attrs.evolve(c, image=o.image)
            for c, o in zip(spec.init_containers, like.init_containers, strict=True)
        ),
        active_deadline_seconds=like.active_deadline_seconds,
        tolerations=like.tolerations,
        # Binding (pods/binding in Kubernetes): an unset nodeName may be set, once.
        node_name=spec.node_name if like.node_name else like.node_name,
    )


_SPEC_FIELDS_BUT_NODE = tuple(f.name for f in attrs.fields(PodSpec) if f.name != "node_name")


def _is_binding(new: PodSpec, old: PodSpec) -> bool:
    """Whether ``new`` is ``old`` with only an unset ``nodeName`` set (the hot update)."""
    if old.node_name or not new.node_name or new.containers is not old.containers:
        return False
    for name in _SPEC_FIELDS_BUT_NODE:  # a binding evolves the stored spec: identity is the rule
        a, b = getattr(new, name), getattr(old, name)
        if a is not b and a != b:
            return False
    return True


def validate_pod(new: Pod, old: Pod | None, op: Operation) -> Errors:
    """
    A Pod's spec; on update, only images, ``activeDeadlineSeconds`` and tolerations change.

    An unset ``spec.nodeName`` may also be set (binding); once set it is immutable.
    """
    if spec_unchanged(new, old, op):
        return []
    if old is not None and _is_binding(new.spec, old.spec):
        return []  # the stored spec was valid; binding adds only the node
    errors: Errors = []
    pod_spec(errors, "spec", new.spec)
    if old is not None:
        old_spec = default_pod(old).spec
        if _mutable_pod_fields(new.spec, old_spec) != old_spec:
            errors.append(
                FieldError(
                    field="spec",
                    type=FORBIDDEN,
                    detail="pod updates may not change fields other than "
                    "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                    "`spec.activeDeadlineSeconds` or `spec.tolerations`",
                )
            )
    return errors
