"""A realistic ~1 KB object for the benchmarks: a pod-like kind with typed fields."""

from __future__ import annotations

import attrs

import reconcile


@attrs.frozen(kw_only=True)
class EnvVar:
    name: str
    value: str = ""


@attrs.frozen(kw_only=True)
class Port:
    name: str = ""
    container_port: int
    protocol: str = "TCP"


@attrs.frozen(kw_only=True)
class Container:
    name: str
    image: str
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    ports: tuple[Port, ...] = ()
    requests: reconcile.FrozenDict[str, str] = attrs.field(factory=reconcile.FrozenDict)
    limits: reconcile.FrozenDict[str, str] = attrs.field(factory=reconcile.FrozenDict)


@attrs.frozen(kw_only=True)
class SampleSpec:
    node_name: str = ""
    service_account_name: str = "default"
    containers: tuple[Container, ...] = ()


@attrs.frozen(kw_only=True)
class SampleStatus:
    phase: str = ""
    pod_ip: str = ""
    host_ip: str = ""
    restarts: int = 0


@reconcile.kind(group="bench.reconcile.dev", version="v1", kind="Sample")
@attrs.frozen(kw_only=True)
class Sample(reconcile.Resource):
    spec: SampleSpec = SampleSpec()
    status: SampleStatus = SampleStatus()


def sample(i: int, *, namespace: str = "default") -> Sample:
    """The ``i``-th sample object: about 1 KB of compact JSON once stored."""
    app = f"app-{i % 50}"
    return Sample(
        metadata=reconcile.ObjectMeta(
            name=f"{app}-{i:07d}",
            namespace=namespace,
            labels={"app": app, "tier": "backend", "pod-template-hash": f"{i % 7919:08x}"},
            annotations={"example.com/build": f"2025.01.{i % 28 + 1:02d}-{i:x}"},
        ),
        spec=SampleSpec(
            node_name=f"node-{i % 1000:04d}",
            containers=(
                Container(
                    name="server",
                    image=f"registry.example.com/{app}/server:v{i % 13}.{i % 7}.{i % 3}",
                    args=("--port=8080", f"--shard={i % 16}", "--log-level=info"),
                    env=(
                        EnvVar(name="POD_INDEX", value=str(i)),
                        EnvVar(name="REGION", value="eu-west-1"),
                        EnvVar(name="FEATURE_FLAGS", value=f"alpha,beta,gamma-{i % 5}"),
                    ),
                    ports=(
                        Port(name="http", container_port=8080),
                        Port(name="metrics", container_port=9090),
                    ),
                    requests=reconcile.FrozenDict({"cpu": "100m", "memory": "128Mi"}),
                    limits=reconcile.FrozenDict({"cpu": "500m", "memory": "512Mi"}),
                ),
                Container(
                    name="sidecar",
                    image="registry.example.com/mesh/proxy:1.21.3",
                    args=("--mode=sidecar", f"--cluster-id={i % 4}"),
                    ports=(Port(name="proxy", container_port=15001),),
                ),
            ),
        ),
        status=SampleStatus(
            phase="Running",
            pod_ip=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
            host_ip=f"192.168.{i % 1000 // 256}.{i % 256}",
        ),
    )
