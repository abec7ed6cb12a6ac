"""
The steps of a whole-cluster run: what a user does, what breaks, and time passing.

A step is a frozen value that knows how to act on a :class:`~controllers.verify.world.World`
(``await step.apply(world)``) and how to write itself as JSON, so a run is a
plain list of steps that can be stored and replayed byte for byte. Steps
name objects from small fixed pools (``web-a``, ``rs-b``, ``node-3``...) so
that random programs collide: a step on something that does not exist (or
that ``kubectl`` would refuse) does nothing, as a refused command would.

* **User actions**: create, scale, change the template of, pause, resume,
  undo and delete (each propagation policy) Deployments, ReplicaSets,
  DaemonSets, Jobs, CronJobs and Services; add, remove, label, taint,
  cordon and drain nodes.
* **Faults**: :class:`Inject` carries a fault of :mod:`reconcile.verify`
  into a component's client or clock (a crash after its k-th write, a
  lagging cache, a relist back in time, lost/repeated/reordered/coalesced
  watch events, watch expiry, 409s, 429s, clock skew and jumps, a pause);
  :class:`NodeFault` stops a node's heartbeats or cuts it off;
  :class:`CrashContainer` and :class:`FlapProbe` hit a running pod;
  :class:`DeposeLeader` pauses the elected controller manager past its
  lease so that a standby takes over while the old leader still believes
  it leads.
* :class:`Advance`: virtual time passes.

``node-1`` is never taken away (removed, tainted, cordoned, drained or
faulted), so every workload can always run somewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

import reconcile
from controllers.api.core import ConfigMap, Pod
from controllers.kubectl import KubectlError
from controllers.kubelet import NodeConfig
from reconcile.verify import Fault, fault_from_json, fault_to_json

if TYPE_CHECKING:
    from controllers.verify.world import World

__all__ = [
    "STEP_TYPES",
    "AddNode",
    "Advance",
    "ChangeTemplate",
    "Cordon",
    "CrashContainer",
    "CreateChart",
    "CreateConfigMap",
    "CreateCronJob",
    "CreateDaemonSet",
    "CreateDeployment",
    "CreateJob",
    "CreateReplicaSet",
    "CreateService",
    "Delete",
    "DeposeLeader",
    "Drain",
    "FlapProbe",
    "Inject",
    "LabelNode",
    "NodeFault",
    "Pause",
    "RemoveNode",
    "Replace",
    "ReplaceConfigMap",
    "Resume",
    "Scale",
    "Step",
    "TaintNode",
    "Undo",
    "step_from_json",
    "step_to_json",
]

NAMESPACE = "default"
CONTAINER = "app"
SCRIPT = f"script.sim.reconcile.dev/{CONTAINER}"
ROLE = "role"  # the node label DaemonSets may select on
DEDICATED = "dedicated"  # the taint key the machine uses
# Readiness is probed every second and one failure makes a pod unready, so
# pods take a couple of seconds to become ready and flaps show at once.
_READINESS = {"httpGet": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 1}

# Refusals a user sees from kubectl and shrugs off (the step then does nothing).
_REFUSED = (
    KubectlError,
    LookupError,
    reconcile.NotFoundError,
    reconcile.ConflictError,
    reconcile.AlreadyExistsError,
    reconcile.InvalidError,
)


@attrs.frozen(kw_only=True)
class Step:
    """Base class: one thing that happens to the cluster."""

    name: ClassVar[str] = ""
    fault: ClassVar[bool] = False  # left out of the fault-free (differential) run
    disrupts: ClassVar[bool] = False  # may take pods away: availability may drop

    async def apply(self, world: World) -> None:
        raise NotImplementedError

    async def _quietly(self, world: World, action: Any) -> bool:
        """Await ``action``; ``False`` (nothing done) if a user would see it refused."""
        try:
            await action
        except _REFUSED:
            return False
        return True


# -- templates -----------------------------------------------------------------------------


def _template(labels: Mapping[str, str], image: str, script: str = "start=2s") -> dict[str, Any]:
    return {
        "metadata": {"labels": dict(labels), "annotations": {SCRIPT: script}},
        "spec": {
            "containers": [{"name": CONTAINER, "image": image, "readinessProbe": _READINESS}],
            "terminationGracePeriodSeconds": 5,
        },
    }


def _meta(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, **({"labels": labels} if labels else {})}


# -- user actions: workloads ---------------------------------------------------------------


async def _create(world: World, name: str, manifest: dict[str, Any]) -> None:
    """``kubectl create``: nothing happens if the object exists (or still terminates)."""
    if world.cluster.get(manifest["kind"].lower(), name) is not None:
        return
    world.ledger.user_create(name)
    with contextlib.suppress(*_REFUSED):
        await world.cluster.apply(manifest)


@attrs.frozen(kw_only=True)
class CreateDeployment(Step):
    """``kubectl apply`` a Deployment ``target`` (pods ``app=<target>``)."""

    name: ClassVar[str] = "create-deployment"
    target: str
    replicas: int = 3
    image: str = "v1"
    surge: int | str = "25%"
    unavailable: int | str = "25%"
    min_ready: int = 0
    recreate: bool = False
    history: int = 2

    async def apply(self, world: World) -> None:
        labels = {"app": self.target}
        strategy: dict[str, Any] = (
            {"type": "Recreate"}
            if self.recreate
            else {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": self.surge, "maxUnavailable": self.unavailable},
            }
        )
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(self.target),
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": labels},
                "template": _template(labels, f"app:{self.image}"),
                "strategy": strategy,
                "minReadySeconds": self.min_ready,
                "revisionHistoryLimit": self.history,
            },
        }
        await _create(world, self.target, manifest)


@attrs.frozen(kw_only=True)
class CreateReplicaSet(Step):
    """A bare ReplicaSet ``target``; ``shared`` ones all select ``app=shared`` (they overlap)."""

    name: ClassVar[str] = "create-replicaset"
    target: str
    replicas: int = 2
    shared: bool = False

    async def apply(self, world: World) -> None:
        labels = {"app": "shared" if self.shared else self.target}
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": _meta(self.target),
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": labels},
                "template": _template({**labels, "rs": self.target}, "app:v1"),
            },
        }
        await _create(world, self.target, manifest)


@attrs.frozen(kw_only=True)
class CreateDaemonSet(Step):
    """A DaemonSet ``target``: on every node, or only ``role=edge`` ones; may tolerate the taint."""

    name: ClassVar[str] = "create-daemonset"
    target: str
    edge_only: bool = False
    tolerate: bool = False

    async def apply(self, world: World) -> None:
        labels = {"app": self.target}
        template = _template(labels, "agent:v1")
        if self.edge_only:
            template["spec"]["nodeSelector"] = {ROLE: "edge"}
        if self.tolerate:
            template["spec"]["tolerations"] = [{"key": DEDICATED, "operator": "Exists"}]
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": _meta(self.target),
            "spec": {"selector": {"matchLabels": labels}, "template": template},
        }
        await _create(world, self.target, manifest)


def _job_spec(
    target: str, *, completions: int, parallelism: int, fail: bool, seconds: int, backoff: int
) -> dict[str, Any]:
    script = f"exit=1@{seconds}s" if fail else f"exit=0@{seconds}s"
    template = _template({"job": target}, "busybox:1", script)
    template["spec"]["restartPolicy"] = "Never"
    del template["spec"]["containers"][0]["readinessProbe"]
    return {
        "completions": completions,
        "parallelism": parallelism,
        "backoffLimit": backoff,
        "template": template,
    }


@attrs.frozen(kw_only=True)
class CreateJob(Step):
    """A Job ``target`` of ``completions`` pods running ``seconds`` each; ``fail``: they exit 1."""

    name: ClassVar[str] = "create-job"
    target: str
    completions: int = 3
    parallelism: int = 2
    fail: bool = False
    seconds: int = 5
    backoff: int = 2

    async def apply(self, world: World) -> None:
        manifest = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": _meta(self.target),
            "spec": _job_spec(
                self.target,
                completions=self.completions,
                parallelism=self.parallelism,
                fail=self.fail,
                seconds=self.seconds,
                backoff=self.backoff,
            ),
        }
        await _create(world, self.target, manifest)


@attrs.frozen(kw_only=True)
class CreateCronJob(Step):
    """A CronJob ``target`` running every minute for ``seconds``; ``forbid``: no overlaps."""

    name: ClassVar[str] = "create-cronjob"
    target: str
    forbid: bool = True
    seconds: int = 90

    async def apply(self, world: World) -> None:
        spec = _job_spec(
            self.target, completions=1, parallelism=1, fail=False, seconds=self.seconds, backoff=1
        )
        manifest = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": _meta(self.target),
            "spec": {
                "schedule": "* * * * *",
                "concurrencyPolicy": "Forbid" if self.forbid else "Allow",
                "jobTemplate": {"spec": spec},
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 1,
            },
        }
        await _create(world, self.target, manifest)


@attrs.frozen(kw_only=True)
class CreateService(Step):
    """A Service ``svc-<target>`` selecting ``app=<target>``."""

    name: ClassVar[str] = "create-service"
    target: str
    publish_not_ready: bool = False

    async def apply(self, world: World) -> None:
        manifest = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(f"svc-{self.target}"),
            "spec": {
                "selector": {"app": self.target},
                "ports": [{"port": 80, "targetPort": 8080}],
                "publishNotReadyAddresses": self.publish_not_ready,
            },
        }
        await _create(world, f"svc-{self.target}", manifest)


@attrs.frozen(kw_only=True)
class CreateConfigMap(Step):
    """A ConfigMap ``cfg-<target>`` owned by the Deployment ``target`` (as a chart makes one)."""

    name: ClassVar[str] = "create-configmap"
    target: str

    async def apply(self, world: World) -> None:
        owner = world.cluster.get("deployment", self.target)
        if owner is None or owner.metadata.deletion_timestamp is not None:
            return
        name = f"cfg-{self.target}"
        if world.cluster.get("configmap", name) is not None:
            return
        ref = reconcile.owner_reference_to(owner, controller=False)
        meta = reconcile.ObjectMeta(name=name, namespace=NAMESPACE, owner_references=(ref,))
        world.ledger.user_create(name)
        await self._quietly(world, world.cluster.api.create(ConfigMap(metadata=meta)))


@attrs.frozen(kw_only=True)
class CreateChart(Step):
    """``kubectl apply`` of a chart: a Deployment ``target`` and the ConfigMap it owns, at once."""

    name: ClassVar[str] = "create-chart"
    target: str
    replicas: int = 2

    async def apply(self, world: World) -> None:
        await CreateDeployment(target=self.target, replicas=self.replicas).apply(world)
        await CreateConfigMap(target=self.target).apply(world)


@attrs.frozen(kw_only=True)
class ReplaceConfigMap(Step):
    """``kubectl replace --force`` of ``cfg-<target>``: deleted and created again at once."""

    name: ClassVar[str] = "replace-configmap"
    target: str

    async def apply(self, world: World) -> None:
        name = f"cfg-{self.target}"
        old = world.cluster.get("configmap", name)
        if old is None or old.metadata.deletion_timestamp is not None:
            return
        world.ledger.user_delete(old, orphan=False)
        if await self._quietly(world, world.cluster.delete("configmap", name)):
            await CreateConfigMap(target=self.target).apply(world)


@attrs.frozen(kw_only=True)
class Replace(Step):
    """``kubectl replace --force``: delete the Deployment and create it again at once."""

    name: ClassVar[str] = "replace"
    target: str

    async def apply(self, world: World) -> None:
        old = world.cluster.get("deployment", self.target)
        if old is None or old.metadata.deletion_timestamp is not None:
            return
        world.ledger.user_delete(old, orphan=False)
        if not await self._quietly(world, world.cluster.delete("deployment", self.target)):
            return
        fresh = attrs.evolve(
            old,
            metadata=reconcile.ObjectMeta(
                name=old.metadata.name,
                namespace=old.metadata.namespace,
                labels=old.metadata.labels,
            ),
            status=type(old.status)(),
        )
        world.ledger.user_create(self.target)
        await self._quietly(world, world.cluster.api.create(fresh))


@attrs.frozen(kw_only=True)
class Scale(Step):
    """``kubectl scale`` a Deployment or ReplicaSet."""

    name: ClassVar[str] = "scale"
    kind: str
    target: str
    replicas: int

    async def apply(self, world: World) -> None:
        world.ledger.user_scale(self.target)
        await self._quietly(world, world.cluster.scale(self.kind, self.target, self.replicas))


@attrs.frozen(kw_only=True)
class ChangeTemplate(Step):
    """``kubectl set image`` on a Deployment, DaemonSet or ReplicaSet (a new rollout)."""

    name: ClassVar[str] = "change-template"
    kind: str
    target: str
    image: str

    async def apply(self, world: World) -> None:
        image = f"{'agent' if self.kind == 'daemonset' else 'app'}:{self.image}"
        await self._quietly(
            world, world.cluster.set_image(self.kind, self.target, {CONTAINER: image})
        )


@attrs.frozen(kw_only=True)
class Pause(Step):
    """``kubectl rollout pause`` a Deployment."""

    name: ClassVar[str] = "pause"
    target: str

    async def apply(self, world: World) -> None:
        await self._quietly(world, world.cluster.rollout_pause(self.target))


@attrs.frozen(kw_only=True)
class Resume(Step):
    """``kubectl rollout resume`` a Deployment."""

    name: ClassVar[str] = "resume"
    target: str

    async def apply(self, world: World) -> None:
        await self._quietly(world, world.cluster.rollout_resume(self.target))


@attrs.frozen(kw_only=True)
class Undo(Step):
    """``kubectl rollout undo`` a Deployment (to its previous revision)."""

    name: ClassVar[str] = "undo"
    target: str

    async def apply(self, world: World) -> None:
        await self._quietly(world, world.cluster.rollout_undo(self.target))


_KINDS = {
    "deployment": "deployment",
    "replicaset": "replicaset",
    "daemonset": "daemonset",
    "job": "job",
    "cronjob": "cronjob",
    "service": "service",
}


@attrs.frozen(kw_only=True)
class Delete(Step):
    """``kubectl delete --cascade=...``: ``propagation`` Background, Foreground or Orphan."""

    name: ClassVar[str] = "delete"
    kind: str
    target: str
    propagation: str = "Background"

    async def apply(self, world: World) -> None:
        name = f"svc-{self.target}" if self.kind == "service" else self.target
        obj = world.cluster.get(_KINDS[self.kind], name)
        if obj is None:
            return
        world.ledger.user_delete(obj, orphan=self.propagation == "Orphan")
        await self._quietly(
            world, world.cluster.delete(self.kind, name, propagation=self.propagation)
        )


# -- user actions: nodes -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AddNode(Step):
    """A machine joins: its kubelet registers ``node``."""

    name: ClassVar[str] = "add-node"
    node: str

    async def apply(self, world: World) -> None:
        if self.node not in world.cluster.fleet and world.cluster.get("node", self.node) is None:
            # The machine starts; its kubelet registers the node when it can (a
            # crashed or refused kubelet later): the user does not wait for it.
            world.cluster.kubelets.add_node(NodeConfig(name=self.node))


@attrs.frozen(kw_only=True)
class RemoveNode(Step):
    """A machine is gone for good: its Node object is deleted."""

    name: ClassVar[str] = "remove-node"
    disrupts: ClassVar[bool] = True
    node: str

    async def apply(self, world: World) -> None:
        if self.node in world.cluster.fleet:
            world.ledger.disrupt(self.node)
            await world.cluster.remove_node(self.node)


@attrs.frozen(kw_only=True)
class LabelNode(Step):
    """``kubectl label node <node> role=<value>`` (``None``: remove the label)."""

    name: ClassVar[str] = "label-node"
    disrupts: ClassVar[bool] = True  # daemon pods leave nodes that no longer match
    node: str
    value: str | None = "edge"

    async def apply(self, world: World) -> None:
        if world.cluster.get("node", self.node) is not None:
            world.ledger.disrupt(self.node)
            await self._quietly(world, world.cluster.label_node(self.node, {ROLE: self.value}))


@attrs.frozen(kw_only=True)
class TaintNode(Step):
    """``kubectl taint node <node> dedicated=x:<effect>`` (``remove``: ``dedicated-``)."""

    name: ClassVar[str] = "taint-node"
    disrupts: ClassVar[bool] = True
    node: str
    effect: str = "NoSchedule"
    remove: bool = False

    async def apply(self, world: World) -> None:
        if world.cluster.get("node", self.node) is None:
            return
        if self.remove:
            await self._quietly(world, world.cluster.untaint_node(self.node, DEDICATED))
        else:
            world.ledger.disrupt(self.node)
            await self._quietly(
                world, world.cluster.taint_node(self.node, DEDICATED, "x", self.effect)
            )


@attrs.frozen(kw_only=True)
class Cordon(Step):
    """``kubectl cordon`` (``uncordon``: make it schedulable again)."""

    name: ClassVar[str] = "cordon"
    node: str
    uncordon: bool = False

    async def apply(self, world: World) -> None:
        if world.cluster.get("node", self.node) is None:
            return
        action = world.cluster.uncordon if self.uncordon else world.cluster.cordon
        await self._quietly(world, action(self.node))


@attrs.frozen(kw_only=True)
class Drain(Step):
    """``kubectl drain``: cordon and evict every pod but daemon and mirror pods."""

    name: ClassVar[str] = "drain"
    disrupts: ClassVar[bool] = True
    node: str

    async def apply(self, world: World) -> None:
        if world.cluster.get("node", self.node) is not None:
            world.ledger.disrupt(self.node)
            await self._quietly(world, world.cluster.drain(self.node))


# -- faults --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Inject(Step):
    """A fault of :mod:`reconcile.verify.faults` in one component's client or clock."""

    name: ClassVar[str] = "inject"
    fault: ClassVar[bool] = True
    what: Fault

    async def apply(self, world: World) -> None:
        world.inject(self.what)


@attrs.frozen(kw_only=True)
class NodeFault(Step):
    """``stop``: a node's kubelet stops; ``cut-off``: the network is cut; ``restore``: both end."""

    name: ClassVar[str] = "node-fault"
    fault: ClassVar[bool] = True
    disrupts: ClassVar[bool] = True
    node: str
    what: str = "stop"

    async def apply(self, world: World) -> None:
        cluster = world.cluster
        if self.node not in cluster.fleet:
            return
        if self.what == "restore":
            world.restore_node(self.node)
            return
        world.ledger.disrupt(self.node)
        world.broken_nodes.add(self.node)
        if self.what == "stop":
            cluster.stop_kubelet(self.node)
        else:
            cluster.cut_off(self.node)


def _running_pod(world: World, index: int) -> Pod | None:
    """The ``index``-th (mod count) running pod that restarts its containers, or ``None``."""
    pods = [
        p
        for p in world.cluster.api.list_nowait(Pod, namespace=NAMESPACE).items
        if p.status.phase == "Running"
        and p.spec.restart_policy == "Always"
        and p.metadata.deletion_timestamp is None
        and p.spec.node_name in world.cluster.fleet
        and p.spec.node_name not in world.broken_nodes
    ]
    return pods[index % len(pods)] if pods else None


@attrs.frozen(kw_only=True)
class CrashContainer(Step):
    """The container of a running pod exits 1 now (it restarts, after a back-off)."""

    name: ClassVar[str] = "crash-container"
    fault: ClassVar[bool] = True
    disrupts: ClassVar[bool] = True
    index: int = 0

    async def apply(self, world: World) -> None:
        pod = _running_pod(world, self.index)
        if pod is not None:
            world.ledger.disrupt(pod.spec.node_name)
            with contextlib.suppress(LookupError):
                world.cluster.crash_container(pod.metadata.name)


@attrs.frozen(kw_only=True)
class FlapProbe(Step):
    """The readiness probe of a running pod fails for ``seconds``."""

    name: ClassVar[str] = "flap-probe"
    fault: ClassVar[bool] = True
    disrupts: ClassVar[bool] = True
    index: int = 0
    seconds: int = 5

    async def apply(self, world: World) -> None:
        pod = _running_pod(world, self.index)
        if pod is not None:
            world.ledger.disrupt(pod.spec.node_name)
            with contextlib.suppress(LookupError):
                world.cluster.fail_probe(pod.metadata.name, duration=self.seconds)


@attrs.frozen(kw_only=True)
class DeposeLeader(Step):
    """
    The leading controller manager pauses for ``seconds`` (longer than its
    15 s lease): a standby takes over, then the old leader resumes still
    believing it leads. Its writes must be refused (fenced).
    """

    name: ClassVar[str] = "depose-leader"
    fault: ClassVar[bool] = True
    seconds: int = 30

    async def apply(self, world: World) -> None:
        await world.depose_leader(self.seconds)


@attrs.frozen(kw_only=True)
class Advance(Step):
    """Let ``seconds`` of virtual time pass."""

    name: ClassVar[str] = "advance"
    seconds: float

    async def apply(self, world: World) -> None:
        await world.cluster.advance(self.seconds)


# -- JSON ----------------------------------------------------------------------------------

STEP_TYPES: tuple[type[Step], ...] = (
    CreateDeployment, CreateReplicaSet, CreateDaemonSet, CreateJob, CreateCronJob,
    CreateService, CreateConfigMap, CreateChart, Replace, ReplaceConfigMap, Scale,
    ChangeTemplate, Pause, Resume, Undo, Delete, AddNode, RemoveNode, LabelNode, TaintNode,
    Cordon, Drain, Inject, NodeFault, CrashContainer, FlapProbe, DeposeLeader, Advance,
)  # fmt: skip
_BY_NAME = {t.name: t for t in STEP_TYPES}


def step_to_json(step: Step) -> dict[str, Any]:
    """``{"step": name, ...fields}``; a fault is nested as :func:`reconcile.verify` writes it."""
    if isinstance(step, Inject):
        return {"step": step.name, "what": fault_to_json(step.what)}
    return {"step": step.name, **attrs.asdict(step)}


def step_from_json(data: Mapping[str, Any]) -> Step:
    """
    The step :func:`step_to_json` wrote.

    Raises:
        ValueError: an unknown step or fault, or fields that do not fit it.
    """
    fields = dict(data)
    name = fields.pop("step", None)
    if name not in _BY_NAME:
        raise ValueError(f"step: unknown step {name!r}; expected one of {sorted(_BY_NAME)}")
    if name == Inject.name:
        return Inject(what=fault_from_json(fields.get("what", {})))
    try:
        return _BY_NAME[name](**fields)
    except TypeError as exc:
        raise ValueError(f"step {name!r}: {exc}") from exc
