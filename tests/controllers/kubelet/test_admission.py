"""A pod whose script annotation does not parse is refused (422) and nothing is written."""

from __future__ import annotations

import pytest

from controllers import Cluster, run
from controllers.api import load
from controllers.api.core import Pod
from reconcile import InvalidError


def _pod(script: str, container: str = "app") -> Pod:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "default",
            "annotations": {f"script.sim.reconcile.dev/{container}": script},
        },
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }
    pod = load(manifest)
    assert isinstance(pod, Pod)
    return pod


def test_bad_script_annotation_is_refused_naming_the_annotation() -> None:
    async def main() -> tuple[str, int]:
        async with Cluster(nodes=1, events=False) as cluster:
            with pytest.raises(InvalidError) as refused:
                await cluster.api.create(_pod("exit=x@5s"))
            return str(refused.value), len(cluster.list("pods"))

    message, stored = run(main)
    assert "metadata.annotations[script.sim.reconcile.dev/app]" in message
    assert "exit=x@5s" in message
    assert stored == 0


def test_script_for_a_missing_container_is_refused() -> None:
    async def main() -> str:
        async with Cluster(nodes=1, events=False) as cluster:
            with pytest.raises(InvalidError) as refused:
                await cluster.api.create(_pod("crash@5s", container="sidecar"))
            return str(refused.value)

    assert "no container named 'sidecar'" in run(main)


def test_valid_script_is_admitted_and_followed() -> None:
    async def main() -> tuple[str, int]:
        async with Cluster(nodes=1, events=False) as cluster:
            await cluster.api.create(_pod("exit=3@5s*1").with_meta(name="p"))
            await cluster.advance(8)
            pod = cluster.get("pod", "p")
            status = pod.status.container_statuses[0]
            last = status.last_state.terminated
            return pod.status.phase, last.exit_code if last else -1

    assert ("Running", 3) == run(main)
