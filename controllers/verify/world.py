"""
``World``: one embedded cluster under verification, with faults, a trace and the oracles.

A world wraps a :class:`controllers.Cluster` whose every component talks to
the API server through its own :class:`reconcile.FaultyClient` (seeded from
the run's seed, the component and its incarnation), so a fault reaches one
process as it would in a real cluster. A crashed component is restarted by
a :class:`reconcile.verify.Supervisor` a second later, with empty caches,
queues and expectations. Every write, watch delivery, fault and commit goes
to one :class:`reconcile.verify.Trace`; :class:`~controllers.verify.safety.Safety`
checks the invariants at every commit.

:meth:`World.finish` ends a run: it heals every fault, lets the cluster
settle and applies the liveness oracles of :mod:`~controllers.verify.liveness`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import attrs

import reconcile
from controllers.api.batch import CronJob
from controllers.cluster import COMPONENTS, Cluster
from controllers.verify import liveness
from controllers.verify.ledger import Ledger
from controllers.verify.safety import Safety
from controllers.verify.steps import Step, step_to_json
from reconcile.verify import (
    Coalesce,
    Crash,
    Fault,
    Freeze,
    Heal,
    Lag,
    Perturb,
    Skew,
    Supervisor,
    TimeTravel,
    Trace,
    component_seed,
    fault_to_json,
)

__all__ = ["World"]

_STALE = (Lag, TimeTravel, Perturb, Coalesce)
_KCM = "kube-controller-manager"


class World:
    """
    One run's cluster (see the module docstring). Use as ``async with World(...)``
    inside a :class:`reconcile.VirtualClock` loop, apply steps, then :meth:`finish`.

    Args:
        seed: Seeds the cluster and every fault decision.
        leader_election: Run the elected components with leases and fencing
            (needed by :class:`~controllers.verify.steps.DeposeLeader`).
        nodes: Nodes at the start (``node-1``...).
        trace: Keep the trace's lines (for saving and diffing); the digest
            is computed either way.
        max_writes: A run whose components write more than this is a runaway:
            it is stopped there and fails.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        leader_election: bool = False,
        nodes: int = 3,
        trace: bool = False,
        max_writes: int = 20_000,
    ) -> None:
        self.seed = seed
        self._keep_trace = trace
        self.trace = Trace(keep=trace)
        self.max_writes = max_writes
        self.writes = 0
        self.runaway = False
        self.steps: list[Step] = []
        self.broken_nodes: set[str] = set()
        self._generations: dict[str, int] = {}
        self._clients: list[reconcile.FaultyClient] = []
        self._supervisor: Supervisor | None = None
        self._standby: str | None = None
        self._leader_election = leader_election
        self.cluster = Cluster(
            nodes=nodes,
            seed=seed,
            events=False,
            connect=self._connect,
            leader_election=leader_election,
        )
        self.ledger: Ledger
        self.safety: Safety

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> World:
        clock = getattr(asyncio.get_running_loop(), "clock", None)
        if not isinstance(clock, reconcile.VirtualClock):
            raise RuntimeError("a World runs in virtual time: use controllers.run(main)")
        self.trace = Trace(clock=clock, keep=self._keep_trace)
        self._supervisor = Supervisor(self._restart, clock, delay=1.0)
        self._supervisor.start()
        await self.cluster.__aenter__()
        api = self.cluster.api
        self.trace.follow(api)
        self.ledger = Ledger(api, clock.time)
        self.safety = Safety(api, self.ledger, lambda: len(self.cluster.stale_leader_writes()))
        api.on_commit.append(self.safety)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop()
        await self.cluster.__aexit__(*exc)

    def _connect(self, component: str, api: reconcile.MemoryCluster) -> reconcile.Client:
        generation = self._generations.get(component, 0) + 1
        self._generations[component] = generation
        assert self._supervisor is not None
        client = reconcile.FaultyClient(
            api,
            name=component,
            clock=api.clock,
            seed=component_seed(self.seed, component, generation),
            record=self._record,
            on_crash=self._supervisor.crashed,
        )
        self._clients.append(client)
        return client

    def _record(self, entry: Any) -> None:
        self.trace(entry)
        if "write" in entry:
            self.writes += 1
            if self.writes > self.max_writes and not self.runaway:
                self.runaway = True
                self._halt()

    def _halt(self) -> None:
        assert self._supervisor is not None
        self._supervisor.halted = True
        for client in self._clients:
            client.crash_after(0)

    async def _restart(self, component: str) -> None:
        if component in COMPONENTS:
            await self.cluster.restart_controller(component)

    # -- steps -------------------------------------------------------------------------------

    async def apply(self, step: Step) -> None:
        """Take one step (recorded in :attr:`steps` and in the trace)."""
        self.steps.append(step)
        self.trace({"step": step_to_json(step)})
        if self.runaway:
            return
        if step.disrupts:
            self.ledger.extend_disruption()
        await step.apply(self)

    async def run(self, steps: Sequence[Step]) -> None:
        for step in steps:
            await self.apply(step)

    # -- faults (called by steps) ------------------------------------------------------------

    def client(self, component: str) -> reconcile.FaultyClient:
        client = self.cluster.client(component)
        assert isinstance(client, reconcile.FaultyClient)
        return client

    def component_clock(self, component: str) -> reconcile.SkewedClock:
        return self.cluster.component_clock(component)

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to its component, noting what it bends for the invariants."""
        if self.runaway or fault.component not in self.cluster.managers():
            return
        ledger = self.ledger
        if isinstance(fault, Heal):
            ledger.clock_faults.discard(fault.component)
            ledger.stale_faults.discard(fault.component)
            if fault.component == "kubelet":
                ledger.kubelet_faults = False
            ledger.extend_disruption()
        elif isinstance(fault, Skew | Freeze):
            ledger.clock_faults.add(fault.component)
        elif isinstance(fault, _STALE):
            ledger.stale_faults.add(fault.component)
        if fault.component == "kubelet" and not isinstance(fault, Heal):
            ledger.kubelet_faults = True
        if isinstance(fault, Freeze) and self.component_clock(fault.component).frozen:
            return
        if isinstance(fault, Crash) and self.client(fault.component).crashed:
            return
        self.trace({"inject": fault_to_json(fault)})
        fault.apply(self)

    def restore_node(self, node: str) -> None:
        """End a node fault: its kubelet runs and reaches the API server again."""
        if node not in self.broken_nodes or node not in self.cluster.fleet:
            return
        self.broken_nodes.discard(node)
        self.ledger.extend_disruption()
        agent = self.cluster.fleet[node]
        if not agent.running:
            self.cluster.start_kubelet(node)
        if not agent.connected:
            self.cluster.reconnect(node)

    async def depose_leader(self, seconds: float) -> None:
        """Pause the leading controller manager ``seconds``; a standby takes over meanwhile."""
        if not self._leader_election or self.runaway:
            return
        if self._standby is None:
            self._standby = await self.cluster.start_standby(_KCM)
        leader = self.cluster.leader(_KCM)
        if leader is None or self.component_clock(leader).frozen:
            return
        self.trace({"depose": leader, "seconds": seconds})
        self.cluster.freeze(leader)
        await self.cluster.advance(seconds)
        # A crash restart meanwhile gives the process a fresh, running clock.
        if self.component_clock(leader).frozen:
            self.cluster.thaw(leader)

    def heal(self) -> None:
        """End every fault: clients healed, clocks thawed and exact, nodes back."""
        for name in list(self.cluster.managers()):
            clock = self.component_clock(name)
            if clock.frozen:
                clock.thaw()
            client = self.cluster.client(name)
            if isinstance(client, reconcile.FaultyClient) and not self.runaway:
                Heal(component=name).apply(self)
        for node in list(self.broken_nodes):
            self.restore_node(node)
        self.ledger.clock_faults.clear()
        self.ledger.stale_faults.clear()
        self.ledger.kubelet_faults = False
        self.ledger.extend_disruption()

    # -- the end -----------------------------------------------------------------------------

    async def _suspend_cron_jobs(self) -> None:
        """
        Suspend every CronJob, as a user would before judging: a schedule that
        keeps starting runs never lets the cluster settle. Their runs finish.
        """
        api = self.cluster.api
        for key in [c.metadata.key for c in api.list_nowait(CronJob).items]:
            cron = api.get_nowait(CronJob, key.name, namespace=key.namespace)
            if not cron.spec.suspend:  # read and written with nothing in between
                spec = attrs.evolve(cron.spec, suspend=True)
                await api.update(attrs.evolve(cron, spec=spec))

    async def finish(self) -> liveness.Verdict:
        """Heal, settle and judge the run (safety so far, then liveness)."""
        if self.runaway:
            return liveness.Verdict(
                failures=(
                    *self.safety.violations,
                    f"runaway: the components made more than {self.max_writes} writes",
                ),
                projection=(),
            )
        self.trace({"phase": "heal"})
        self.heal()
        await self._suspend_cron_jobs()
        # Retries backed off during the faults come due within the rate
        # limiters' cap (1000 s): wait for them, not only for imminent work.
        await self.cluster.settle(within=liveness.BACKOFF_CAP, limit=liveness.SETTLE_LIMIT)
        await self.cluster.advance(liveness.QUIET)
        await self.cluster.settle(within=liveness.BACKOFF_CAP, limit=liveness.SETTLE_LIMIT)
        return await liveness.judge(self)
