"""
A busy simulated hour used to check determinism (and as a benchmark load).

Two managers compete for a lease; the leader runs a reconciler-style
controller that keeps gadgets for widgets and a decorator-style operator
with change handlers and timers. A seeded "user" creates, resizes and
deletes widgets at random moments, and one reconciler fails now and then
to exercise the backoff. Everything that reaches the cluster is hashed.

Run ``python -m tests.sim_scenario SEED`` to print the history digest.
"""

from __future__ import annotations

import contextlib
import random
import sys

import attrs

import reconcile
from reconcile.testing import History, MemoryCluster, VirtualClock
from tests.kinds import Gadget, GadgetSpec, Widget, WidgetSpec, WidgetStatus


async def simulate(clock: VirtualClock, *, seed: int, hours: float = 1.0) -> tuple[str, int]:
    """Run the scenario; return the history digest and the number of events."""
    rng = random.Random(seed)
    cluster = MemoryCluster(clock=clock, seed=seed)
    history = History(cluster)
    managers = [_manager(cluster, clock, identity=f"replica-{i}", seed=seed) for i in range(2)]
    async with managers[0], managers[1]:
        end = clock.time() + hours * 3600
        n = 0
        while clock.time() < end:
            await clock.advance(rng.expovariate(1 / 20))
            widgets = (await cluster.list(Widget, namespace="sim")).items
            action = rng.random()
            if action < 0.4 or not widgets:
                n += 1
                await cluster.create(
                    Widget(
                        metadata=reconcile.ObjectMeta(name=f"w-{n}", namespace="sim"),
                        spec=WidgetSpec(size=rng.randint(0, 4), color=rng.choice(["red", "blue"])),
                    )
                )
            elif action < 0.8:
                target = rng.choice(widgets)
                with contextlib.suppress(reconcile.ConflictError):
                    await cluster.update(
                        attrs.evolve(target, spec=attrs.evolve(target.spec, size=rng.randint(0, 4)))
                    )
            else:
                await cluster.delete(Widget, rng.choice(widgets).key)
        await clock.advance(120)
    return history.digest(), history.count


def _manager(
    cluster: MemoryCluster, clock: VirtualClock, *, identity: str, seed: int
) -> reconcile.Manager:
    elector = reconcile.LeaderElector(
        cluster, name="sim", namespace="kube-system", identity=identity, clock=clock
    )
    manager = reconcile.Manager(cluster, clock=clock, elector=elector)
    widgets, gadgets = manager.store(Widget), manager.store(Gadget)
    failures = random.Random(seed + 1)

    async def keep_gadgets(request: reconcile.Request) -> reconcile.Result:
        widget = widgets.get(request)
        if widget is None or widget.metadata.deleting:
            for gadget in gadgets.by_index("controller", ""):
                del gadget
            return reconcile.Result.done()
        if failures.random() < 0.05:
            raise ConnectionError("flaky dependency")
        owned = sorted(
            (
                g
                for g in gadgets.list(namespace=request.namespace)
                if reconcile.is_controlled_by(g.metadata, widget.metadata.uid)
            ),
            key=lambda g: g.metadata.name,
        )
        for i in range(len(owned), widget.spec.size):
            with contextlib.suppress(reconcile.AlreadyExistsError):
                await cluster.create(
                    Gadget(
                        metadata=reconcile.ObjectMeta(
                            name=f"{widget.metadata.name}-{i}",
                            namespace=request.namespace,
                            owner_references=[reconcile.owner_reference_to(widget)],
                        ),
                        spec=GadgetSpec(),
                    )
                )
        for gadget in owned[widget.spec.size :]:
            with contextlib.suppress(reconcile.NotFoundError):
                await cluster.delete(Gadget, gadget.key)
        status = WidgetStatus(
            ready=min(len(owned), widget.spec.size), observed_generation=widget.metadata.generation
        )
        if widget.status != status:
            await cluster.update_status(attrs.evolve(widget, status=status))
        return reconcile.Result.after(300)

    manager.add(
        reconcile.Controller(
            name="gadgets",
            for_=Widget,
            owns=(Gadget,),
            workers=2,
            reconciler=reconcile.reconciler(keep_gadgets),
        )
    )
    operator = reconcile.Operator(f"audit-{identity}")

    @operator.timer(Gadget, interval=60)
    async def touch(gadget: Gadget, ctx: reconcile.Context) -> None:
        del gadget, ctx

    operator.install(manager)
    return manager


def main(seed: int) -> str:
    clock = VirtualClock()
    digest, count = clock.run(simulate(clock, seed=seed))
    return f"{digest} {count}"


if __name__ == "__main__":
    reconcile.configure(level="WARNING")
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7))
