"""
Leader election on a ``Lease``: run work in one replica at a time.

:class:`LeaderElector` follows client-go's ``tools/leaderelection`` on a
``coordination.k8s.io/v1`` :class:`~reconcile.model.coordination.Lease`:

* **Acquire.** Every ``retry_period`` a candidate reads the lease. It may take
  it when nobody holds it or when it has expired: ``leaseDurationSeconds``
  have passed on the candidate's own monotonic clock since it last saw the
  record change (client-go's ``observedTime``; the holder's ``renewTime`` is
  never compared with another machine's clock, so skewed or stepped wall
  clocks cannot cause an early takeover). It takes it by an ``update`` carrying the
  ``resource_version`` it read, so of two candidates racing for the same
  version exactly one wins (the other gets ``ConflictError`` and waits).
  ``leaseTransitions`` goes up by one whenever the holder changes.
* **Renew.** While leading, the holder rewrites ``renewTime`` every
  ``retry_period``, again conditionally on the version it last wrote.
* **Stop acting in time.** The deadline is ``renew_deadline`` after the start
  of the last successful renewal (measured before the request was sent, so it
  is never later than the ``renewTime`` others see). When it passes, the
  elector stops leading *at once*, even if a renewal is still in flight, and
  cancels the leader's work. Because ``renew_deadline < lease_duration``
  (validated), the work is cancelled strictly before any other candidate may
  consider the lease expired. Seeing another holder on the lease also ends
  leadership immediately. This deadline is stricter than client-go's, which
  counts from the start of the current renewal round.
* **Release.** When the work finishes, fails or is cancelled (a graceful
  stop), the elector stops acting and then clears ``holderIdentity``, so a
  standby takes over at its next retry instead of waiting for expiry.

Design: one call, :meth:`LeaderElector.run`, campaigns until it leads, then
runs the leader's work in an ``asyncio.TaskGroup`` next to the renewer and the
deadline watchdog. Cancellation is the only stop signal: losing leadership
cancels the work and ``run`` raises :class:`LeadershipLostError`; cancelling
``run`` stops the work and releases the lease. To campaign again after a loss,
call ``run`` again. Every read of time goes through the injected clock.

Fencing: :meth:`LeaderElector.fenced` wraps a client so that its writes go
through only while this candidate leads *and* the Lease in the API still names
it, in the term (``leaseTransitions``) it acquired (see
:mod:`reconcile.runtime.fencing`). A write refused that way proves another
candidate leads: leadership ends at once, as when a renewal sees another holder.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Awaitable, Callable
from typing import final

import attrs
import structlog

from reconcile.cluster.client import Client
from reconcile.errors import ApiError, NotFoundError, ReconcileError
from reconcile.model.coordination import Lease, LeaseSpec
from reconcile.model.meta import ObjectKey, ObjectMeta
from reconcile.primitives.clock import Clock
from reconcile.runtime.fencing import FencedClient, Term

__all__ = ["LeaderElectionStatistics", "LeaderElector", "LeadershipLostError"]

_log = structlog.get_logger(__name__)


class LeadershipLostError(ReconcileError):
    """The lease could not be renewed within the deadline, or another candidate holds it."""


@attrs.frozen(kw_only=True)
class LeaderElectionStatistics:
    """
    A snapshot of a :class:`LeaderElector`.

    Attributes:
        identity: This candidate's identity.
        is_leader: Whether it currently leads.
        holder: The holder seen on the lease at the last read (``None`` if none).
        transitions: ``leaseTransitions`` seen at the last read.
        acquisitions: Times this candidate became leader.
        renewals: Successful renewals while leading.
        failures: Attempts to acquire or renew that failed (API errors, conflicts).
        losses: Times leadership ended without a release (deadline or takeover).
        releases: Times the lease was released on a graceful stop.
        fenced_writes: Writes refused by this candidate's fenced clients.
    """

    identity: str
    is_leader: bool
    holder: str | None
    transitions: int
    acquisitions: int
    renewals: int
    failures: int
    losses: int
    releases: int
    fenced_writes: int = 0


class _Attempt(enum.Enum):
    WON = "won"
    HELD_BY_OTHER = "held_by_other"
    FAILED = "failed"


@final
class LeaderElector:
    """
    A candidate for the lease ``namespace/name`` (see the module docstring).

    Args:
        client: Where the lease lives.
        name: Lease name.
        namespace: Lease namespace.
        identity: This candidate's unique identity (e.g. pod name + uuid).
        clock: Time source for deadlines and lease timestamps.
        lease_duration: Seconds others wait after a renewal before taking over.
        renew_deadline: Seconds the leader keeps acting without a successful
            renewal; must be less than ``lease_duration``.
        retry_period: Seconds between attempts to acquire or renew; must be
            less than ``renew_deadline``.
    """

    def __init__(
        self,
        client: Client,
        *,
        name: str,
        namespace: str,
        identity: str,
        clock: Clock,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
    ) -> None:
        if not (name and namespace and identity):
            raise ValueError("name, namespace and identity: must not be empty")
        if not 0 < retry_period < renew_deadline < lease_duration:
            raise ValueError(
                "need 0 < retry_period < renew_deadline < lease_duration, got "
                f"{retry_period} / {renew_deadline} / {lease_duration}"
            )
        self._client = client
        self._name = name
        self._namespace = namespace
        self._identity = identity
        self._clock = clock
        self._lease_seconds = math.ceil(lease_duration)
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._running = False
        self._leading = False
        self._deadline = -math.inf
        self._leading_event = asyncio.Event()
        self._holder: str | None = None
        self._transitions = 0
        self._acquisitions = self._renewals = self._failures = 0
        self._losses = self._releases = 0
        self._term: int | None = None  # leaseTransitions of the term this candidate leads in
        self._deposed: asyncio.Future[str] | None = None
        self._fenced_clients: list[FencedClient] = []
        self._observed_version = ""  # the lease's resourceVersion when last seen to change
        self._observed_at = -math.inf

    @property
    def identity(self) -> str:
        """This candidate's identity."""
        return self._identity

    @property
    def is_leader(self) -> bool:
        """Whether this candidate leads *now* (false from the deadline on, even mid-renewal)."""
        return self._leading and self._clock.time() < self._deadline

    @property
    def lease(self) -> ObjectKey:
        """The Lease this candidate campaigns for."""
        return ObjectKey(self._namespace, self._name)

    def term(self) -> Term | None:
        """The fencing token of the term this candidate leads in now, or ``None``."""
        if self._term is None or not self.is_leader:
            return None
        return Term(identity=self._identity, transitions=self._term)

    def fenced(self, client: Client) -> Client:
        """
        ``client``, with every write fenced by this candidate's lease.

        Reads and watches pass through. A write raises
        :class:`~reconcile.errors.FencedError` unless, at that moment, this
        candidate believes it leads and the Lease (read fresh from ``client``)
        still names it with the ``leaseTransitions`` it acquired. On
        :class:`~reconcile.cluster.memory.MemoryCluster` the check and the
        write are atomic; over a remote backend the check narrows the window
        to one round trip (see :mod:`reconcile.runtime.fencing`). The elector's
        own writes to the Lease do not go through a fenced client.
        """
        fenced = FencedClient(client, self)
        self._fenced_clients.append(fenced)
        return fenced

    def fenced_out(self, holder: str | None, transitions: int | None) -> None:
        """A fenced write found the Lease held by another (or in another term): stop leading."""
        self._holder, self._transitions = holder, transitions or 0
        if self._deposed is not None and not self._deposed.done():
            self._deadline = -math.inf  # ``is_leader`` is false from this instant
            self._deposed.set_result(
                f"a fenced write found lease {self._lease_name} held by {holder!r} "
                f"(transitions {transitions})"
            )

    async def wait_leading(self) -> None:
        """Return once this candidate leads (at once if it already does)."""
        await self._leading_event.wait()

    async def run(self, leader_work: Callable[[], Awaitable[None]]) -> None:
        """
        Campaign for the lease, then run ``leader_work`` only while leading.

        Returns after ``leader_work`` returns, once the lease is released. If
        ``run`` is cancelled, the work is cancelled and the lease released
        before the cancellation propagates.

        Raises:
            LeadershipLostError: Leadership ended before ``leader_work`` did;
                the work was cancelled first and the lease is not released.
            Exception: Whatever ``leader_work`` raised (the lease is released).
            RuntimeError: ``run`` is already active on this elector.
        """
        if self._running:
            raise RuntimeError("LeaderElector.run() is already active")
        self._running = True
        try:
            while await self._attempt(renewing=False) is not _Attempt.WON:
                await self._clock.sleep(self._retry_period)
            await self._lead(leader_work)
        finally:
            self._running = False

    async def release(self) -> bool:
        """
        Give up the lease if this candidate holds it; ``run`` does this on exit.

        Returns:
            Whether the lease was released.

        Raises:
            RuntimeError: Called while ``run`` is active (cancel ``run`` instead).
        """
        if self._running:
            raise RuntimeError("release() while run() is active: cancel run() instead")
        return await self._release()

    def statistics(self) -> LeaderElectionStatistics:
        """A snapshot of the counters."""
        return LeaderElectionStatistics(
            identity=self._identity,
            is_leader=self.is_leader,
            holder=self._holder,
            transitions=self._transitions,
            acquisitions=self._acquisitions,
            renewals=self._renewals,
            failures=self._failures,
            losses=self._losses,
            releases=self._releases,
            fenced_writes=sum(c.statistics().refused for c in self._fenced_clients),
        )

    async def _lead(self, leader_work: Callable[[], Awaitable[None]]) -> None:
        self._leading = True
        self._leading_event.set()
        self._deposed = asyncio.get_running_loop().create_future()
        self._acquisitions += 1
        _log.info("leaderelection.started_leading", lease=self._lease_name, identity=self._identity)
        lost: BaseException | None = None
        error: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                renewer = tg.create_task(self._renew_loop())
                watchdog = tg.create_task(self._watchdog())
                await leader_work()
                renewer.cancel()
                watchdog.cancel()
        except BaseExceptionGroup as group:
            matched, rest = group.split(LeadershipLostError)
            lost = None if matched is None else matched.exceptions[0]
            if rest is not None:  # the work failed: report its own exception when alone
                error = rest.exceptions[0] if len(rest.exceptions) == 1 else rest
        finally:
            self._stop_leading()
            if lost is None:
                await self._release()
        if lost is not None:
            self._losses += 1
            _log.warning("leaderelection.lost", lease=self._lease_name, identity=self._identity,
                         reason=str(lost))  # fmt: skip
        if error is not None:
            raise error
        if lost is not None:
            raise lost

    async def _renew_loop(self) -> None:
        while True:
            await self._clock.sleep(self._retry_period)
            if await self._attempt(renewing=True) is _Attempt.HELD_BY_OTHER:
                raise LeadershipLostError(f"lease {self._lease_name} is held by {self._holder!r}")

    async def _watchdog(self) -> None:
        deposed = self._deposed
        assert deposed is not None
        while (remaining := self._deadline - self._clock.time()) > 0:
            # Wake at the deadline, or at once when a fenced write proves a takeover.
            sleeper = asyncio.ensure_future(self._clock.sleep(remaining))
            try:
                await asyncio.wait((sleeper, deposed), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
            if deposed.done():
                raise LeadershipLostError(deposed.result())
        raise LeadershipLostError(
            f"lease {self._lease_name} not renewed within {self._renew_deadline:g}s"
        )

    async def _attempt(self, *, renewing: bool) -> _Attempt:
        """One try to acquire (or, while leading, renew) the lease; extends the deadline."""
        started, now = self._clock.time(), self._clock.now()
        if renewing and started >= self._deadline:
            return _Attempt.FAILED  # too late: the watchdog ends leadership
        mine = LeaseSpec(
            holder_identity=self._identity,
            lease_duration_seconds=self._lease_seconds,
            acquire_time=now,
            renew_time=now,
            lease_transitions=0,
        )
        try:
            try:
                lease = await self._client.get(Lease, self._name, namespace=self._namespace)
            except NotFoundError:
                if renewing:
                    return self._failed("lease deleted")
                meta = ObjectMeta(name=self._name, namespace=self._namespace)
                await self._client.create(Lease(metadata=meta, spec=mine))
            else:
                spec = lease.spec
                self._holder, self._transitions = spec.holder_identity, spec.lease_transitions or 0
                if spec.holder_identity == self._identity:
                    mine = attrs.evolve(spec, renew_time=now,
                                        lease_duration_seconds=self._lease_seconds)  # fmt: skip
                elif renewing or not self._expired(lease, started):
                    return _Attempt.HELD_BY_OTHER
                else:
                    mine = attrs.evolve(mine, lease_transitions=self._transitions + 1)
                await self._client.update(attrs.evolve(lease, spec=mine))
        except ApiError as exc:
            return self._failed(repr(exc))
        self._holder, self._transitions = self._identity, mine.lease_transitions or 0
        self._term = self._transitions
        if self._clock.time() >= started + self._renew_deadline:
            # The write landed so late that the renew time it carries may already
            # have expired for everyone else: acting on it could mean two leaders.
            return self._failed("lease written after the renew deadline")
        self._deadline = started + self._renew_deadline
        if renewing:
            self._renewals += 1
            _log.debug("leaderelection.renewed", lease=self._lease_name, identity=self._identity)
        return _Attempt.WON

    def _expired(self, lease: Lease, at: float) -> bool:
        """
        Whether another's lease has expired, timed on this candidate's own monotonic clock.

        As client-go does, the duration runs from when this candidate last saw the
        record change, not from the ``renewTime`` written by the holder's clock, so
        clocks that disagree (skewed or stepped) cannot make it take over early.
        """
        spec = lease.spec
        if not spec.held or spec.lease_duration_seconds is None:
            return True
        version = lease.metadata.resource_version
        if version != self._observed_version:
            self._observed_version, self._observed_at = version, at
            return False
        return at > self._observed_at + spec.lease_duration_seconds

    def _failed(self, error: str) -> _Attempt:
        self._failures += 1
        _log.debug("leaderelection.attempt_failed", lease=self._lease_name,
                   identity=self._identity, error=error)  # fmt: skip
        return _Attempt.FAILED

    def _stop_leading(self) -> None:
        self._leading = False
        self._leading_event.clear()
        self._deadline = -math.inf
        self._term = None
        if self._deposed is not None and not self._deposed.done():
            self._deposed.cancel()
        self._deposed = None

    async def _release(self) -> bool:
        try:
            lease = await self._client.get(Lease, self._name, namespace=self._namespace)
            if lease.spec.holder_identity != self._identity:
                return False
            now = self._clock.now()
            spec = attrs.evolve(lease.spec, holder_identity=None, lease_duration_seconds=1,
                                acquire_time=now, renew_time=now)  # fmt: skip
            await self._client.update(attrs.evolve(lease, spec=spec))
        except ApiError as exc:
            _log.warning("leaderelection.release_failed", lease=self._lease_name,
                         identity=self._identity, error=repr(exc))  # fmt: skip
            return False
        self._holder = None
        self._releases += 1
        _log.info("leaderelection.released", lease=self._lease_name, identity=self._identity)
        return True

    @property
    def _lease_name(self) -> str:
        return f"{self._namespace}/{self._name}"
