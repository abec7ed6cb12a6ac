"""
The kubectl workload verbs of :class:`~controllers.cluster.Cluster`.

``scale``, ``set image``, ``rollout status|history|undo|pause|resume|restart``
and the ``get`` tables of Deployments, ReplicaSets, DaemonSets, Jobs,
CronJobs, Pods, Services and Endpoints, as methods. They are
thin: the logic and kubectl's messages live in :mod:`controllers.kubectl`,
whose functions work over any :class:`reconcile.Client`. Kinds are named as
:meth:`~controllers.cluster.objects.Objects.get` names them (``"deploy"``,
``"Deployment"`` or the class); the namespace defaults to ``default``.

Time comes from the cluster's clock (``restartedAt``, table ages, the
timeout of :meth:`Workloads.wait_for_rollout`), so in virtual time every
result is reproducible.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import reconcile
from controllers import kubectl
from controllers.api.apps import DaemonSet, Deployment, ReplicaSet
from controllers.api.batch import CronJob, Job
from controllers.api.core import Endpoints, Service
from controllers.api.pod import Pod
from controllers.cluster.objects import KindRef, resolve_kind

__all__ = ["Workloads"]

_Printer = Callable[[Sequence[Any], dt.datetime, bool], str]

_TABLES: dict[type[reconcile.Resource], _Printer] = {
    Deployment: lambda objs, now, wide: kubectl.deployment_table(objs, now=now, wide=wide),
    ReplicaSet: lambda objs, now, wide: kubectl.replica_set_table(objs, now=now, wide=wide),
    DaemonSet: lambda objs, now, wide: kubectl.daemon_set_table(objs, now=now, wide=wide),
    Job: lambda objs, now, wide: kubectl.job_table(objs, now=now, wide=wide),
    CronJob: lambda objs, now, wide: kubectl.cron_job_table(objs, now=now, wide=wide),
    Pod: lambda objs, now, wide: kubectl.pod_table(objs, now=now, wide=wide),
    Service: lambda objs, now, wide: kubectl.service_table(objs, now=now, wide=wide),
    Endpoints: lambda objs, now, _wide: kubectl.endpoints_table(objs, now=now),
}
"""The ``get`` printer of each kind that has one."""


def _rollout_kind(kind: KindRef) -> type[Deployment] | type[DaemonSet]:
    cls = resolve_kind(kind)
    if cls is Deployment or cls is DaemonSet:
        return cls
    raise kubectl.KubectlError(
        f"no status viewer has been implemented for {reconcile.kind_of(cls)}"
    )


class Workloads:
    """Mixin of :class:`~controllers.cluster.Cluster`: kubectl's workload verbs."""

    api: reconcile.MemoryCluster

    @property
    def clock(self) -> reconcile.Clock:
        raise NotImplementedError

    # -- scale and set image -------------------------------------------------------------

    async def scale(
        self,
        kind: KindRef,
        name: str,
        replicas: int,
        *,
        namespace: str = "default",
        current_replicas: int | None = None,
        change_cause: str | None = None,
    ) -> Any:
        """
        ``kubectl scale``: set a Deployment's or ReplicaSet's replicas; returns it as stored.

        ``current_replicas`` refuses unless that is the count now;
        ``change_cause`` records ``kubernetes.io/change-cause`` in the same write.
        """
        return await kubectl.scale(
            self.api,
            resolve_kind(kind),
            namespace,
            name,
            replicas,
            current_replicas=current_replicas,
            change_cause=change_cause,
        )

    async def set_image(
        self,
        kind: KindRef,
        name: str,
        images: Mapping[str, str],
        *,
        namespace: str = "default",
        change_cause: str | None = None,
    ) -> Any:
        """
        ``kubectl set image``: images by container name (``"*"`` for all); returns the object.

        Raises:
            controllers.kubectl.KubectlError: ``unable to find container named "x"``
                (nothing is written).
        """
        return await kubectl.set_image(
            self.api, resolve_kind(kind), namespace, name, images, change_cause=change_cause
        )

    # -- rollout ---------------------------------------------------------------------------

    def rollout_status(
        self,
        name: str,
        *,
        namespace: str = "default",
        kind: KindRef = Deployment,
        revision: int | None = None,
    ) -> kubectl.RolloutStatus:
        """``kubectl rollout status --watch=false``: where the rollout stands now."""
        cls = _rollout_kind(kind)
        obj = self.api.get_nowait(cls, name, namespace=namespace)
        return kubectl.rollout_status(obj, revision=revision)

    async def wait_for_rollout(
        self,
        name: str,
        *,
        namespace: str = "default",
        kind: KindRef = Deployment,
        revision: int | None = None,
        # kubectl's --timeout; an outer asyncio.timeout would lose the messages seen.
        timeout: float | None = 3600.0,  # noqa: ASYNC109
    ) -> builtins.list[str]:
        """
        ``kubectl rollout status``: let time pass until the rollout is done or has failed.

        Watches the object and reads its status on every change, as kubectl
        does. Returns the distinct messages seen, in order (a message is
        kept when it differs from the one before); the last one says how it
        ended: ``deployment "x" successfully rolled out``, or ``deployment
        "x" exceeded its progress deadline`` (check
        ``rollout_status(name).failed``).

        Raises:
            controllers.kubectl.RolloutTimeoutError: ``timeout`` (simulated)
                seconds passed first; its ``messages`` are the ones seen.
            controllers.kubectl.KubectlError: the object was deleted, or
                ``revision`` is not the one rolling out.
            reconcile.NotFoundError: there is no such object.
        """
        messages: builtins.list[str] = []
        watch = kubectl.watch_rollout(
            self.api, namespace, name, kind=_rollout_kind(kind), revision=revision
        )
        try:
            async with asyncio.timeout(timeout):
                async for current in watch:
                    if not messages or messages[-1] != current.message:
                        messages.append(current.message)
        except TimeoutError as exc:
            raise kubectl.RolloutTimeoutError(messages) from exc
        finally:
            await watch.aclose()
        return messages

    def rollout_history(
        self, name: str, *, namespace: str = "default"
    ) -> builtins.list[kubectl.HistoryEntry]:
        """
        ``kubectl rollout history``: a Deployment's revisions, oldest first.

        Each entry has the revision's change cause and pod template (the
        ``--revision=N`` detail; render it with
        :func:`controllers.kubectl.describe_template`).
        """
        deployment = self.api.get_nowait(Deployment, name, namespace=namespace)
        replica_sets = self.api.list_nowait(ReplicaSet, namespace=namespace).items
        return kubectl.rollout_history(deployment, replica_sets)

    async def rollout_undo(
        self, name: str, *, namespace: str = "default", to_revision: int | None = None
    ) -> kubectl.Rollback:
        """
        ``kubectl rollout undo``: go back to the previous revision, or to ``to_revision``.

        Raises:
            controllers.kubectl.KubectlError: no such revision, no history, or
                the Deployment is paused.
        """
        return await kubectl.undo(self.api, namespace, name, to_revision=to_revision)

    async def rollout_pause(self, name: str, *, namespace: str = "default") -> Deployment:
        """``kubectl rollout pause``: template changes wait until resumed."""
        return await kubectl.pause(self.api, namespace, name)

    async def rollout_resume(self, name: str, *, namespace: str = "default") -> Deployment:
        """``kubectl rollout resume``: let a paused Deployment roll out again."""
        return await kubectl.resume(self.api, namespace, name)

    async def rollout_restart(
        self, name: str, *, namespace: str = "default", kind: KindRef = Deployment
    ) -> Any:
        """``kubectl rollout restart``: replace every pod of a Deployment or DaemonSet."""
        return await kubectl.restart(
            self.api, resolve_kind(kind), namespace, name, now=self.clock.now()
        )

    # -- tables ----------------------------------------------------------------------------

    def table(self, kind: KindRef, *, namespace: str | None = "default", wide: bool = False) -> str:
        """
        ``kubectl get <kind> [-o wide]`` as text (every namespace when ``None``).

        ``kind`` is named as kubectl names it (``deploy``, ``rs``, ``ds``,
        ``job``, ``cj``, ``po``, ``svc``, ``ep``, their plurals or kinds) or
        given as a class; objects come in the API server's order.

        Raises:
            controllers.kubectl.KubectlError: ``kind`` has no table here
                (the message names it).
            LookupError: there is no kind of that name.
        """
        cls = resolve_kind(kind)
        printer = _TABLES.get(cls)
        if printer is None:
            raise kubectl.KubectlError(
                f"no table for {reconcile.kind_of(cls).kind}: kubectl get prints "
                + ", ".join(reconcile.kind_of(c).plural for c in _TABLES)
            )
        objects = self.api.list_nowait(cls, namespace=namespace).items
        return printer(objects, self.clock.now(), wide)
