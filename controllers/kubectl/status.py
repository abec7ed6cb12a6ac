"""
``kubectl rollout status``: where a rollout stands, in kubectl's words.

:func:`rollout_status` is pure: it reads only the object given (its
generation, spec and the status its controller wrote), so a caller decides
when to look again. kubectl looks again on every watch event of the object
and prints each message; :func:`controllers.kubectl.watch_rollout` does
the same over a client.

For a Deployment the checks run in kubectl's order, the first match wins:

1. the controller has not seen the latest spec (``status.observedGeneration
   < metadata.generation``): ``Waiting for deployment spec update to be
   observed...``;
2. its ``Progressing`` condition has reason ``ProgressDeadlineExceeded``:
   failed, ``deployment "x" exceeded its progress deadline``;
3. fewer updated replicas than desired: ``... N out of M new replicas have
   been updated...``;
4. more replicas than updated ones: ``... N old replicas are pending
   termination...``;
5. fewer available than updated: ``... N of M updated replicas are
   available...``;
6. otherwise done: ``deployment "x" successfully rolled out``.

kubectl reports the deadline as an error and ends; here it is a status with
``failed=True`` so that a caller waiting on a rollout keeps the messages
seen so far. Messages carry no trailing newline.
"""

from __future__ import annotations

import attrs

from controllers.api.apps import DaemonSet, DaemonSetUpdateStrategyType, Deployment
from controllers.kubectl.annotations import revision_of
from controllers.kubectl.errors import KubectlError

__all__ = ["PROGRESS_DEADLINE_EXCEEDED", "RolloutStatus", "rollout_status"]

PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
"""Reason of the ``Progressing=False`` condition of a Deployment that stopped progressing."""

_instance = attrs.validators.instance_of


@attrs.frozen(kw_only=True)
class RolloutStatus:
    """
    One reading of a rollout.

    Attributes:
        message: What kubectl prints for it.
        done: The rollout is complete; waiting can stop.
        failed: The rollout exceeded its progress deadline (``message`` is
            then kubectl's error); waiting can stop too.
    """

    message: str = attrs.field(validator=_instance(str))
    done: bool = attrs.field(default=False, validator=_instance(bool))
    failed: bool = attrs.field(default=False, validator=_instance(bool))

    @property
    def finished(self) -> bool:
        """Whether waiting for this rollout can stop (it is done or has failed)."""
        return self.done or self.failed


def rollout_status(obj: Deployment | DaemonSet, *, revision: int | None = None) -> RolloutStatus:
    """
    The rollout status of a Deployment or a DaemonSet, as ``kubectl rollout status`` prints it.

    Args:
        obj: The object as last read from the API.
        revision: For a Deployment, the revision the caller expects to be
            rolling out (``--revision``); ``None`` accepts any. DaemonSets
            ignore it, as kubectl does.

    Raises:
        KubectlError: ``revision`` is not the Deployment's revision, the
            Deployment's revision annotation is not a number, or the
            DaemonSet does not use the ``RollingUpdate`` strategy.
    """
    if isinstance(obj, Deployment):
        return _deployment_status(obj, revision)
    return _daemon_set_status(obj)


def _deployment_status(deployment: Deployment, revision: int | None) -> RolloutStatus:
    name = deployment.metadata.name
    if revision is not None and revision > 0:
        try:
            current = revision_of(deployment.metadata.annotations)
        except ValueError as exc:
            raise KubectlError(f"cannot get the revision of deployment {name!r}: {exc}") from exc
        if current != revision:
            raise KubectlError(
                f"desired revision ({revision}) is different from the running revision ({current})"
            )
    status = deployment.status
    if deployment.metadata.generation > status.observed_generation:
        return RolloutStatus(message="Waiting for deployment spec update to be observed...")
    progressing = next((c for c in status.conditions if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == PROGRESS_DEADLINE_EXCEEDED:
        return RolloutStatus(
            message=f'deployment "{name}" exceeded its progress deadline', failed=True
        )
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    desired = deployment.spec.replicas
    if desired is not None and status.updated_replicas < desired:
        return RolloutStatus(
            message=f"{waiting}{status.updated_replicas} out of {desired} new replicas "
            "have been updated..."
        )
    if status.replicas > status.updated_replicas:
        old = status.replicas - status.updated_replicas
        return RolloutStatus(message=f"{waiting}{old} old replicas are pending termination...")
    if status.available_replicas < status.updated_replicas:
        return RolloutStatus(
            message=f"{waiting}{status.available_replicas} of {status.updated_replicas} "
            "updated replicas are available..."
        )
    return RolloutStatus(message=f'deployment "{name}" successfully rolled out', done=True)


def _daemon_set_status(daemon_set: DaemonSet) -> RolloutStatus:
    # An unset strategy is defaulted to RollingUpdate by the API server.
    strategy = daemon_set.spec.update_strategy.type
    if strategy not in (None, DaemonSetUpdateStrategyType.ROLLING_UPDATE):
        raise KubectlError("rollout status is only available for RollingUpdate strategy type")
    name = daemon_set.metadata.name
    status = daemon_set.status
    if daemon_set.metadata.generation > status.observed_generation:
        return RolloutStatus(message="Waiting for daemon set spec update to be observed...")
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    desired = status.desired_number_scheduled
    if status.updated_number_scheduled < desired:
        return RolloutStatus(
            message=f"{waiting}{status.updated_number_scheduled} out of {desired} new pods "
            "have been updated..."
        )
    if status.number_available < desired:
        return RolloutStatus(
            message=f"{waiting}{status.number_available} of {desired} updated pods are available..."
        )
    return RolloutStatus(message=f'daemon set "{name}" successfully rolled out', done=True)
