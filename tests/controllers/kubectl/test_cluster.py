"""End to end on :class:`controllers.Cluster`: the kubectl verbs against running controllers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from controllers import Cluster, run
from controllers.api.apps import Deployment, ReplicaSet
from controllers.kubectl import KubectlError, RolloutTimeoutError

T = TypeVar("T")

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  progressDeadlineSeconds: 60
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
"""

CACHE = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cache
spec:
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers:
      - {name: redis, image: "redis:7"}
"""

SUCCESS = 'deployment "web" successfully rolled out'
KNOWN = re.compile(
    r"Waiting for deployment spec update to be observed\.\.\."
    r'|Waiting for deployment "web" rollout to finish: ('
    r"\d+ out of \d+ new replicas have been updated"
    r"|\d+ old replicas are pending termination"
    r"|\d+ of \d+ updated replicas are available)\.\.\."
    r'|deployment "web" successfully rolled out'
)


def scenario(body: Callable[[Cluster], Awaitable[T]]) -> T:
    """Run ``body`` on a two-node cluster."""

    async def main() -> T:
        async with Cluster(nodes=2, seed=11) as cluster:
            return await body(cluster)

    return run(main)


async def _web(cluster: Cluster) -> None:
    """Apply the Deployment; skip when no Deployment controller runs in this Cluster yet."""
    await cluster.apply(WEB)
    await cluster.settle()
    if not cluster.list(ReplicaSet):
        pytest.skip("the Deployment controller is not wired into Cluster yet")


def _images(cluster: Cluster) -> str:
    d: Deployment = cluster.get(Deployment, "web")
    return d.spec.template.spec.containers[0].image


def test_scale_and_table_of_a_replica_set() -> None:
    """scale a ReplicaSet and read kubectl's table once its pods are ready."""

    async def body(cluster: Cluster) -> str:
        await cluster.apply(CACHE)
        await cluster.settle()
        await cluster.scale("rs", "cache", 3)
        await cluster.settle()
        return cluster.table("rs", wide=True)

    lines = scenario(body).split("\n")
    assert ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"] == (
        lines[0].split()
    )
    assert ["cache", "3", "3", "3"] == lines[1].split()[:4]
    assert ["redis", "redis:7", "app=cache"] == lines[1].split()[5:]


def test_set_image_rolls_out_with_kubectl_messages() -> None:
    """wait_for_rollout reports kubectl's progress messages and ends with success."""

    async def body(cluster: Cluster) -> list[str]:
        await _web(cluster)
        await cluster.set_image("deploy", "web", {"web": "nginx:1.26"}, change_cause="1.26")
        return await cluster.wait_for_rollout("web")

    messages = scenario(body)
    assert SUCCESS == messages[-1]
    assert len(messages) > 1
    assert all(KNOWN.fullmatch(m) for m in messages), messages
    assert all(a != b for a, b in itertools.pairwise(messages))


def test_history_undo_and_renumbering() -> None:
    """Two updates make revisions 1..3; undo --to-revision=1 brings 1 back as revision 4."""

    async def body(cluster: Cluster) -> tuple[object, ...]:
        await _web(cluster)
        for image in ("nginx:1.26", "nginx:1.27"):
            await cluster.set_image("deploy", "web", {"web": image}, change_cause=f"to {image}")
            await cluster.wait_for_rollout("web")
        before = [(e.revision, e.change_cause) for e in cluster.rollout_history("web")]
        rollback = await cluster.rollout_undo("web", to_revision=1)
        await cluster.wait_for_rollout("web")
        after = [(e.revision, e.change_cause) for e in cluster.rollout_history("web")]
        again = await cluster.rollout_undo("web", to_revision=4)
        return before, rollback.message, _images(cluster), after, again.message

    before, message, image, after, again = scenario(body)
    assert [(1, None), (2, "to nginx:1.26"), (3, "to nginx:1.27")] == before
    assert "rolled back" == message
    assert "nginx:1.25" == image
    assert [(2, "to nginx:1.26"), (3, "to nginx:1.27"), (4, None)] == after
    assert "skipped rollback (current template already matches revision 4)" == again


def test_pause_holds_template_changes_until_resume() -> None:
    """While paused, a new image makes no new ReplicaSet and undo is refused; resume rolls out."""

    async def body(cluster: Cluster) -> tuple[int, int, str]:
        await _web(cluster)
        await cluster.set_image("deploy", "web", {"web": "nginx:1.26"})
        await cluster.wait_for_rollout("web")
        await cluster.rollout_pause("web")
        await cluster.set_image("deploy", "web", {"web": "nginx:1.27"})
        await cluster.settle()
        paused = len(cluster.list(ReplicaSet))
        with pytest.raises(KubectlError, match="you cannot rollback a paused deployment"):
            await cluster.rollout_undo("web")
        await cluster.rollout_resume("web")
        messages = await cluster.wait_for_rollout("web")
        return paused, len(cluster.list(ReplicaSet)), messages[-1]

    assert (2, 3, SUCCESS) == scenario(body)


def test_undo_without_history_is_refused() -> None:
    """A single revision has nothing to go back to: kubectl's error."""

    async def body(cluster: Cluster) -> None:
        await _web(cluster)
        with pytest.raises(KubectlError, match='no rollout history found for deployment "web"'):
            await cluster.rollout_undo("web")

    scenario(body)


def test_restart_replaces_every_pod() -> None:
    """rollout restart makes a new revision whose pods are all new."""

    async def body(cluster: Cluster) -> tuple[set[str], set[str], str]:
        await _web(cluster)
        before = {p.metadata.name for p in cluster.list("pods")}
        await cluster.rollout_restart("web")
        await cluster.wait_for_rollout("web")
        await cluster.settle()
        after = {p.metadata.name for p in cluster.list("pods") if not p.metadata.deleting}
        return before, after, cluster.rollout_status("web").message

    before, after, message = scenario(body)
    assert 3 == len(after)
    assert set() == before & after
    assert SUCCESS == message


def test_stuck_rollout_ends_at_the_progress_deadline() -> None:
    """A crash-looping image never becomes available: kubectl's deadline error ends the wait."""

    async def body(cluster: Cluster) -> tuple[str, bool]:
        await _web(cluster)
        await cluster.set_image("deploy", "web", {"web": "busybox"})
        messages = await cluster.wait_for_rollout("web")
        return messages[-1], cluster.rollout_status("web").failed

    assert ('deployment "web" exceeded its progress deadline', True) == scenario(body)


def test_wait_times_out_with_the_messages_seen() -> None:
    """A timeout shorter than the rollout raises with what was seen so far."""

    async def body(cluster: Cluster) -> tuple[str, ...]:
        await _web(cluster)
        await cluster.set_image("deploy", "web", {"web": "busybox"})
        with pytest.raises(RolloutTimeoutError) as info:
            await cluster.wait_for_rollout("web", timeout=5)
        return info.value.messages

    messages = scenario(body)
    assert messages
    assert SUCCESS not in messages


def test_deployment_table() -> None:
    """get deployments once rolled out: 3/3 ready, all up to date and available."""

    async def body(cluster: Cluster) -> str:
        await _web(cluster)
        await cluster.wait_for_rollout("web")
        return cluster.table("deploy")

    lines = scenario(body).split("\n")
    assert ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] == lines[0].split()
    assert ["web", "3/3", "3", "3"] == lines[1].split()[:4]
