"""
Expectations against a model of Kubernetes' UID-tracking ControllerExpectations.

The model keeps, per key, the creations still expected, the uids whose
deletion is expected and when the record was set, in exact virtual time
(every step is a whole number of seconds). Invariants compare
``satisfied()``, ``pending()`` and ``statistics()`` with the model after
every step.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reconcile.model.meta import ObjectKey, Uid
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.expectations import Expectations, ExpectationsStatistics

TTL = 300.0
KEYS = st.sampled_from([ObjectKey(namespace="ns", name=n) for n in ("a", "b", "c")])
UIDS = st.sampled_from([Uid(f"uid-{i}") for i in range(4)])
UID_SETS = st.frozensets(UIDS, max_size=4)
COUNTS = st.integers(min_value=0, max_value=4)
STEPS = st.sampled_from([1.0, 10.0, 100.0, 299.0, 300.0, 301.0])


class ExpectationsMachine(RuleBasedStateMachine):
    """Random expectations, observations, adjustments and clock advances, checked step by step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.loop = self.clock.new_event_loop()
        self.expectations = Expectations(clock=self.clock, ttl=TTL)
        self.now = 0.0
        self.model: dict[ObjectKey, tuple[int, frozenset[Uid], float]] = {}

    def teardown(self) -> None:
        self.loop.close()

    def _adjust(
        self, key: ObjectKey, creations: int, add: frozenset[Uid], drop: frozenset[Uid]
    ) -> None:
        if key in self.model:
            count, uids, since = self.model[key]
            self.model[key] = (count + creations, (uids | add) - drop, since)

    @rule(key=KEYS, count=COUNTS)
    def expect_creations(self, key: ObjectKey, count: int) -> None:
        self.expectations.expect_creations(key, count)
        self.model[key] = (count, frozenset(), self.now)

    @rule(key=KEYS, uids=UID_SETS)
    def expect_deletions(self, key: ObjectKey, uids: frozenset[Uid]) -> None:
        self.expectations.expect_deletions(key, uids)
        self.model[key] = (0, uids, self.now)

    @rule(key=KEYS)
    def creation_observed(self, key: ObjectKey) -> None:
        self.expectations.creation_observed(key)
        self._adjust(key, -1, frozenset(), frozenset())

    @rule(key=KEYS, uid=UIDS)
    def deletion_observed(self, key: ObjectKey, uid: Uid) -> None:
        self.expectations.deletion_observed(key, uid)
        self._adjust(key, 0, frozenset(), frozenset({uid}))

    @rule(key=KEYS, count=COUNTS, uids=UID_SETS)
    def raise_expectations(self, key: ObjectKey, count: int, uids: frozenset[Uid]) -> None:
        self.expectations.raise_expectations(key, creations=count, deletions=uids)
        self._adjust(key, count, uids, frozenset())

    @rule(key=KEYS, count=COUNTS, uids=UID_SETS)
    def lower_expectations(self, key: ObjectKey, count: int, uids: frozenset[Uid]) -> None:
        self.expectations.lower_expectations(key, creations=count, deletions=uids)
        self._adjust(key, -count, frozenset(), uids)

    @rule(key=KEYS)
    def forget(self, key: ObjectKey) -> None:
        self.expectations.forget(key)
        self.model.pop(key, None)

    @rule(seconds=STEPS)
    def advance(self, seconds: float) -> None:
        self.loop.run_until_complete(self.clock.advance(seconds))
        self.now += seconds

    def _model_satisfied(self, key: ObjectKey) -> bool:
        if key not in self.model:
            return True
        count, uids, since = self.model[key]
        return (count <= 0 and not uids) or self.now - since > TTL

    @invariant()
    def satisfied_matches_the_model(self) -> None:
        for key in [ObjectKey(namespace="ns", name=n) for n in ("a", "b", "c")]:
            assert self._model_satisfied(key) == self.expectations.satisfied(key)
            count, uids, _ = self.model.get(key, (0, frozenset(), 0.0))
            assert (max(0, count), uids) == self.expectations.pending(key)

    @invariant()
    def statistics_match_the_model(self) -> None:
        unmet = [k for k, (c, u, _) in self.model.items() if c > 0 or u]
        expired = [k for k in unmet if self.now - self.model[k][2] > TTL]
        assert (
            ExpectationsStatistics(
                records=len(self.model),
                unsatisfied=len(unmet) - len(expired),
                expired=len(expired),
                pending_creations=sum(max(0, c) for c, _, _ in self.model.values()),
                pending_deletions=sum(len(u) for _, u, _ in self.model.values()),
            )
            == self.expectations.statistics()
        )


ExpectationsMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None
)
TestExpectations = ExpectationsMachine.TestCase
