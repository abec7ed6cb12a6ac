"""
A controller of your own at work, step by step, with leader election.

A ``Website`` asks for N ``Replica`` objects running one version. Two
controllers cooperate, as in Kubernetes:

* the **website controller** (the one you would write) creates and deletes
  replicas, replaces old versions one at a time, and reports status;
* the **agent** plays the node: a new replica becomes ready 2 s after it
  is created (in simulated time).

Two managers run the website controller with leader election on a
``Lease``; the demo stops the leader, which releases the lease, and the
standby takes over. Every reconcile is shown as one log line; a table shows the
cluster after each step. Everything runs in virtual time: the whole story
takes about a simulated minute and well under a second of real time.

Run it: ``./dev example 08``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import MutableMapping
from typing import Any

import attrs
import structlog

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run

STARTUP_SECONDS = 2.0
FINALIZER = "demo.reconcile.dev/release-dns"


@attrs.frozen(kw_only=True)
class WebsiteSpec:
    replicas: int = 1
    version: str = "v1"


@attrs.frozen(kw_only=True)
class WebsiteStatus:
    ready: int = 0
    updated: int = 0
    observed_generation: int = 0


@reconcile.kind(group="demo.reconcile.dev", version="v1", kind="Website")
@attrs.frozen(kw_only=True)
class Website(reconcile.Resource):
    spec: WebsiteSpec = WebsiteSpec()
    status: WebsiteStatus = WebsiteStatus()


@attrs.frozen(kw_only=True)
class ReplicaSpec:
    version: str = ""


@attrs.frozen(kw_only=True)
class ReplicaStatus:
    ready: bool = False


@reconcile.kind(group="demo.reconcile.dev", version="v1", kind="Replica")
@attrs.frozen(kw_only=True)
class Replica(reconcile.Resource):
    spec: ReplicaSpec = ReplicaSpec()
    status: ReplicaStatus = ReplicaStatus()


def website_controller(
    cluster: MemoryCluster, manager: reconcile.Manager, dns: dict[str, str]
) -> reconcile.Controller[Website]:
    """The controller a user would write: converge replicas, one version step at a time."""
    websites, replicas = manager.store(Website), manager.store(Replica)
    log = structlog.get_logger("demo")

    async def converge(site: Website) -> reconcile.Result:
        mine = sorted(
            (
                r
                for r in replicas.by_index("controller", site.metadata.uid)
                if not r.metadata.deleting
            ),
            key=lambda r: r.metadata.name,
        )
        old = [r for r in mine if r.spec.version != site.spec.version]
        ready = [r for r in mine if r.status.ready]
        want = site.spec.replicas
        if len(mine) < want:
            for _ in range(want - len(mine)):
                created = await cluster.create(
                    Replica(
                        metadata=reconcile.ObjectMeta(
                            generate_name=f"{site.metadata.name}-",
                            namespace=site.metadata.namespace,
                            owner_references=[reconcile.owner_reference_to(site)],
                        ),
                        spec=ReplicaSpec(version=site.spec.version),
                    )
                )
                log.info(
                    "website.replica_created",
                    replica=created.metadata.name,
                    version=site.spec.version,
                )
        elif len(mine) > want:
            for extra in (old + mine)[: len(mine) - want]:
                await cluster.delete(Replica, extra.key)
                log.info("website.replica_deleted", replica=extra.metadata.name)
        elif old and len(ready) == want:
            # Rolling replacement: take one old replica away only when all are ready.
            await cluster.delete(Replica, old[0].key)
            log.info(
                "website.replica_replaced",
                replica=old[0].metadata.name,
                old=old[0].spec.version,
                new=site.spec.version,
            )
        dns[site.metadata.name] = f"{len(ready)} backends"
        status = WebsiteStatus(
            ready=len(ready),
            updated=len(mine) - len(old),
            observed_generation=site.metadata.generation,
        )
        if site.status != status:
            await cluster.update_status(attrs.evolve(site, status=status))
        return reconcile.Result.done()

    async def release_dns(site: Website) -> reconcile.Result:
        dns.pop(site.metadata.name, None)
        log.info("website.dns_released", website=site.metadata.name)
        return reconcile.Result.done()

    async def reconcile_website(request: reconcile.Request) -> reconcile.Result | None:
        site = websites.get(request)
        if site is None:
            return None
        return await reconcile.with_finalizer(
            cluster, site, FINALIZER, apply=converge, cleanup=release_dns
        )

    return reconcile.Controller(
        name="website",
        for_=Website,
        owns=(Replica,),
        reconciler=reconcile.reconciler(reconcile_website),
    )


def agent_controller(
    cluster: MemoryCluster, manager: reconcile.Manager, clock: reconcile.Clock
) -> reconcile.Controller[Replica]:
    """Plays the node: a replica turns ready ``STARTUP_SECONDS`` after its creation."""
    replicas = manager.store(Replica)

    async def start(request: reconcile.Request) -> reconcile.Result:
        replica = replicas.get(request)
        if replica is None or replica.status.ready or replica.metadata.deleting:
            return reconcile.Result.done()
        created = replica.metadata.creation_timestamp
        assert created is not None
        waited = (clock.now() - created).total_seconds()
        if waited < STARTUP_SECONDS:
            return reconcile.Result.after(STARTUP_SECONDS - waited)
        await cluster.update_status(attrs.evolve(replica, status=ReplicaStatus(ready=True)))
        return reconcile.Result.done()

    return reconcile.Controller(name="agent", for_=Replica, reconciler=reconcile.reconciler(start))


def _render(
    clock: VirtualClock,
) -> structlog.typing.Processor:
    """One compact line per interesting log event, stamped with simulated time."""
    shown = {"reconcile.finished", "leaderelection.started_leading", "leaderelection.released"}

    def render(_logger: object, _name: str, event: MutableMapping[str, Any]) -> str:
        name = event.pop("event")
        if not (name.startswith("website.") or name in shown):
            raise structlog.DropEvent
        if name == "reconcile.finished" and event.get("controller") != "website":
            raise structlog.DropEvent
        for noise in ("reconcile_id", "level", "duration_ms", "lease"):
            event.pop(noise, None)
        if event.get("requeue_after") is None:
            event.pop("requeue_after", None)
        fields = " ".join(f"{k}={v}" for k, v in event.items())
        return f"  [t={clock.time():6.1f}s] {name:34} {fields}"

    return render


def _table(sites: list[Website], replicas: list[Replica]) -> str:
    lines = [f"  {'WEBSITE':10} {'DESIRED':>7} {'READY':>5} {'UP-TO-DATE':>10} {'VERSION':>7}"]
    lines.extend(
        f"  {s.metadata.name:10} {s.spec.replicas:>7} {s.status.ready:>5} "
        f"{s.status.updated:>10} {s.spec.version:>7}"
        for s in sites
    )
    lines.append(f"  {'REPLICA':16} {'VERSION':>7} {'READY':>5}")
    for r in replicas:
        state = "yes" if r.status.ready else "no"
        if r.metadata.deleting:
            state += " (terminating)"
        lines.append(f"  {r.metadata.name:16} {r.spec.version:>7} {state:>5}")
    return "\n".join(lines)


async def main(clock: VirtualClock) -> dict[str, object]:
    """Tell the story; return the facts the test suite checks."""
    cluster = MemoryCluster(clock=clock, seed=2025)
    dns: dict[str, str] = {}
    facts: dict[str, object] = {}

    def build(identity: str) -> tuple[reconcile.Manager, reconcile.LeaderElector]:
        elector = reconcile.LeaderElector(
            cluster,
            name="website-controller",
            namespace="kube-system",
            identity=identity,
            clock=clock,
        )
        manager = reconcile.Manager(cluster, clock=clock, elector=elector)
        manager.add(website_controller(cluster, manager, dns))
        return manager, elector

    async def show(title: str) -> None:
        await clock.advance(STARTUP_SECONDS + 1)
        sites = (await cluster.list(Website, namespace="shop")).items
        reps = (await cluster.list(Replica, namespace="shop")).items
        print(f"\n{title}\n{_table(list(sites), list(reps))}")

    async def step(title: str) -> None:
        print(f"\n== {title}")

    agent_manager = reconcile.Manager(cluster, clock=clock)
    agent_manager.add(agent_controller(cluster, agent_manager, clock))
    alpha, alpha_elector = build("controller-alpha")
    beta, beta_elector = build("controller-beta")

    print("reconcile demo: a Website controller on the embedded cluster (virtual time)")
    async with contextlib.AsyncExitStack() as running, contextlib.AsyncExitStack() as leader:
        await running.enter_async_context(agent_manager)
        await leader.enter_async_context(alpha)
        await running.enter_async_context(beta)
        await step("1. Create website 'shop' with 3 replicas of v1")
        await cluster.create(
            Website(
                metadata=reconcile.ObjectMeta(name="shop", namespace="shop"),
                spec=WebsiteSpec(replicas=3, version="v1"),
            )
        )
        await show("after step 1:")

        await step("2. Scale to 5 replicas")
        site = await cluster.get(Website, "shop", namespace="shop")
        await cluster.update(attrs.evolve(site, spec=attrs.evolve(site.spec, replicas=5)))
        await show("after step 2:")

        await step("3. Delete a replica by hand: the controller replaces it")
        victim = (await cluster.list(Replica, namespace="shop")).items[0]
        await cluster.delete(Replica, victim.key)
        await show("after step 3:")

        await step("4. Roll out v2: one replica replaced at a time")
        site = await cluster.get(Website, "shop", namespace="shop")
        await cluster.update(attrs.evolve(site, spec=attrs.evolve(site.spec, version="v2")))
        await clock.advance(5 * (STARTUP_SECONDS + 1))
        await show("after step 4:")
        facts["leader_before"] = alpha_elector.identity if alpha_elector.is_leader else None

        await step("5. Stop the leader: it releases the lease and the standby takes over")
        await leader.aclose()
        await clock.advance(5)
        facts["leader_after"] = beta_elector.identity if beta_elector.is_leader else None
        await step("6. Delete the website: the finalizer releases DNS first")
        await cluster.delete(Website, "shop", namespace="shop")
        await show("after step 6 (replicas are left for a garbage collector):")
        facts["dns"] = dict(dns)
        facts["websites"] = len((await cluster.list(Website, namespace="shop")).items)
        facts["versions"] = sorted(
            {r.spec.version for r in (await cluster.list(Replica, namespace="shop")).items}
        )
    print(f"\n{cluster.statistics().writes} writes, {clock.time():.0f} simulated seconds.")
    return facts


def _configure(clock: VirtualClock) -> None:
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, _render(clock)],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )


if __name__ == "__main__":
    demo_clock = VirtualClock()
    _configure(demo_clock)
    run(main, clock=demo_clock)
