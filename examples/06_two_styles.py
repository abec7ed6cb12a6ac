"""
06 — the decorator style and the reconciler style, side by side on one engine.

A help desk has ``Ticket`` objects and ``Desk`` objects.

* Tickets are handled kopf-style, with decorators: ``on.create`` assigns a
  ticket, ``on.update`` reacts to priority changes with the diff,
  ``on.delete`` archives it (behind a finalizer the operator manages),
  ``timer`` escalates tickets left open, and ``index`` groups tickets by desk.
* Desks are handled controller-runtime-style, by one reconciler that
  counts the open tickets of its desk through that same index.

Both become ordinary controllers of one ``Manager``: one work queue per kind,
one cache per kind, one backoff policy.

Run it: ``python examples/06_two_styles.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run


@attrs.frozen(kw_only=True)
class TicketSpec:
    desk: str = ""
    title: str = ""
    priority: int = 3


@attrs.frozen(kw_only=True)
class TicketStatus:
    assignee: str = ""
    escalations: int = 0


@reconcile.kind(group="helpdesk.example.com", version="v1", kind="Ticket")
@attrs.frozen(kw_only=True)
class Ticket(reconcile.Resource):
    spec: TicketSpec = TicketSpec()
    status: TicketStatus = TicketStatus()


@attrs.frozen(kw_only=True)
class DeskStatus:
    open_tickets: int = 0


@reconcile.kind(group="helpdesk.example.com", version="v1", kind="Desk")
@attrs.frozen(kw_only=True)
class Desk(reconcile.Resource):
    status: DeskStatus = DeskStatus()


async def main(clock: VirtualClock) -> dict[str, object]:
    """Open, reprioritise, escalate and close tickets; return what both styles did."""
    cluster = MemoryCluster(clock=clock, seed=6)
    operator = reconcile.Operator("helpdesk")
    journal: list[str] = []

    # -- decorator style -----------------------------------------------------

    @operator.index(Ticket)
    def by_desk(ticket: Ticket) -> Iterable[str]:
        return [ticket.spec.desk]

    @operator.on.create(Ticket)
    async def assign(ticket: Ticket, ctx: reconcile.Context) -> None:
        journal.append(f"t={clock.time():g} created {ticket.metadata.name}")
        await ctx.client.update_status(
            attrs.evolve(ticket, status=attrs.evolve(ticket.status, assignee="first-line"))
        )

    @operator.on.update(Ticket)
    async def reprioritised(
        old: Ticket, new: Ticket, diff: reconcile.Diff, ctx: reconcile.Context
    ) -> None:
        changes = ", ".join(f"{'.'.join(d.path)}: {d.old} -> {d.new}" for d in diff)
        journal.append(f"t={clock.time():g} updated {new.metadata.name}: {changes}")

    @operator.on.delete(Ticket)
    async def archive(ticket: Ticket, ctx: reconcile.Context) -> None:
        journal.append(f"t={clock.time():g} archived {ticket.metadata.name}")

    @operator.timer(Ticket, interval=3600, initial_delay=3600)
    async def escalate(ticket: Ticket, ctx: reconcile.Context) -> None:
        current = await ctx.client.get(Ticket, ticket.key)
        await ctx.client.update_status(
            attrs.evolve(
                current,
                status=attrs.evolve(current.status, escalations=current.status.escalations + 1),
            )
        )
        journal.append(f"t={clock.time():g} escalated {ticket.metadata.name}")

    # -- reconciler style ----------------------------------------------------

    manager = reconcile.Manager(cluster, clock=clock)
    operator.install(manager)
    desks = manager.store(Desk)
    tickets = manager.store(Ticket)

    async def count_open(request: reconcile.Request) -> reconcile.Result:
        desk = desks.get(request)
        if desk is None:
            return reconcile.Result.done()
        mine = [
            t for t in tickets.by_index("by_desk", desk.metadata.name) if not t.metadata.deleting
        ]
        if desk.status.open_tickets != len(mine):
            status = DeskStatus(open_tickets=len(mine))
            await cluster.update_status(attrs.evolve(desk, status=status))
        return reconcile.Result.done()

    def desk_of(ticket: reconcile.Resource) -> list[reconcile.ObjectKey]:
        assert isinstance(ticket, Ticket)
        return [reconcile.ObjectKey(namespace=ticket.metadata.namespace, name=ticket.spec.desk)]

    manager.add(
        reconcile.Controller(
            name="desks",
            for_=Desk,
            reconciler=reconcile.reconciler(count_open),
            watches=[reconcile.Watch(kind=Ticket, mapper=reconcile.enqueue_mapped(desk_of))],
        )
    )

    async with manager:
        ns = "support"
        await cluster.create(Desk(metadata=reconcile.ObjectMeta(name="billing", namespace=ns)))
        for name, title in (("t-1", "invoice missing"), ("t-2", "refund")):
            await cluster.create(
                Ticket(
                    metadata=reconcile.ObjectMeta(name=name, namespace=ns),
                    spec=TicketSpec(desk="billing", title=title),
                )
            )
        await clock.advance(60)
        t1 = await cluster.get(Ticket, "t-1", namespace=ns)
        await cluster.update(attrs.evolve(t1, spec=attrs.evolve(t1.spec, priority=1)))
        await clock.advance(3600)
        await cluster.delete(Ticket, "t-2", namespace=ns)
        await clock.advance(60)
        desk = await cluster.get(Desk, "billing", namespace=ns)
        t1 = await cluster.get(Ticket, "t-1", namespace=ns)
    for line in journal:
        print(line)
    print(f"desk billing: {desk.status.open_tickets} open; t-1 status: {t1.status}")
    return {"journal": journal, "open": desk.status.open_tickets, "t1": t1.status}


if __name__ == "__main__":
    reconcile.configure(level="WARNING")
    run(main)
