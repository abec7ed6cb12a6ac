"""The kubelet owns its pods' status: a status written by someone else is set right again."""

from __future__ import annotations

import attrs

from controllers import Cluster, run
from controllers.api.core import Pod
from controllers.replicaset.pods import is_pod_ready as is_ready

POD = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - name: app
    image: nginx
    readinessProbe: {httpGet: {port: 8080}, periodSeconds: 1}
"""


def test_a_pod_marked_not_ready_by_another_writer_is_marked_ready_again() -> None:
    """As after the node lifecycle controller's MarkPodsNotReady, once the node answers."""

    async def main() -> tuple[bool, bool, bool]:
        async with Cluster(nodes=1, seed=3, events=False) as cluster:
            await cluster.apply(POD)
            await cluster.advance(10)
            pod = cluster.api.get_nowait(Pod, "web", namespace="default")
            before = is_ready(pod)
            conditions = tuple(
                attrs.evolve(c, status="False") if c.type == "Ready" else c
                for c in pod.status.conditions
            )
            marked = await cluster.api.update_status(
                attrs.evolve(pod, status=attrs.evolve(pod.status, conditions=conditions))
            )
            await cluster.settle()
            after = cluster.api.get_nowait(Pod, "web", namespace="default")
            return before, is_ready(marked), is_ready(after)

    assert (True, False, True) == run(main)
