"""
03 — errors decide retries; results decide when to look again.

A ``Probe`` checks a (pretend) endpoint. The reconciler shows every way a
reconcile can end and what the controller does about it:

* ``Result.after(30)``: fine now, look again in 30 s (periodic polling);
* ``RetryAfter(5)``: not ready yet, try again in exactly 5 s;
* any other exception: retried with per-key exponential backoff
  (5 ms, 10 ms, 20 ms, ... up to 1000 s), logged with its traceback;
* ``TerminalError``: retrying cannot help (a bad spec); the key is dropped
  until the object changes.

Everything runs in virtual time, so the minute of polling below is instant.

Run it: ``python examples/03_errors_and_requeue.py``.
"""

from __future__ import annotations

import attrs

import reconcile
from reconcile.testing import MemoryCluster, VirtualClock, run


@attrs.frozen(kw_only=True)
class ProbeSpec:
    url: str = ""


@reconcile.kind(group="examples.reconcile.dev", version="v1", kind="Probe")
@attrs.frozen(kw_only=True)
class Probe(reconcile.Resource):
    spec: ProbeSpec = ProbeSpec()


async def main(clock: VirtualClock) -> dict[str, int]:
    """Run three probes for a simulated minute; return the controller's outcome counters."""
    cluster = MemoryCluster(clock=clock, seed=3)
    manager = reconcile.Manager(cluster, clock=clock)
    probes = manager.store(Probe)
    attempts: dict[str, int] = {}

    async def check(request: reconcile.Request) -> reconcile.Result:
        probe = probes.get(request)
        if probe is None:
            return reconcile.Result.done()
        n = attempts[request.name] = attempts.get(request.name, 0) + 1
        if not probe.spec.url.startswith("http"):
            raise reconcile.TerminalError(f"spec.url: {probe.spec.url!r} is not an HTTP URL")
        if request.name == "flaky" and n <= 3:
            raise ConnectionError("connection refused")  # backoff: 5 ms, 10 ms, 20 ms
        if request.name == "warming-up" and clock.time() < 10:
            raise reconcile.RetryAfter(5, "endpoint still starting")
        return reconcile.Result.after(30)

    controller = manager.add(
        reconcile.Controller(name="prober", for_=Probe, reconciler=reconcile.reconciler(check))
    )
    async with manager:
        for name, url in (("flaky", "http://a"), ("warming-up", "http://b"), ("broken", "ftp://c")):
            await cluster.create(
                Probe(
                    metadata=reconcile.ObjectMeta(name=name, namespace="default"),
                    spec=ProbeSpec(url=url),
                )
            )
        await clock.advance(60)
        outcomes = controller.statistics().outcomes
    print(f"after 60 simulated seconds: attempts={attempts} outcomes={outcomes}")
    return outcomes


if __name__ == "__main__":
    reconcile.configure(level="WARNING")
    run(main)
