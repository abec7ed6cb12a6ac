"""The whole-cluster oracles' own rules, against Kubernetes' and the controllers'."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import reconcile
from controllers.api.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    DeploymentStrategyType,
    RollingUpdateDeployment,
)
from controllers.deployment import max_surge, max_unavailable
from controllers.verify.safety import fenceposts

BOUNDS = st.integers(0, 5) | st.sampled_from(["0%", "10%", "25%", "33%", "50%", "75%", "100%"])


@settings(max_examples=300, deadline=None)
@given(replicas=st.integers(1, 20), surge=BOUNDS, unavailable=BOUNDS)
def test_the_oracle_resolves_bounds_as_the_deployment_controller_does(
    replicas: int, surge: int | str, unavailable: int | str
) -> None:
    """An independent implementation: a planted rounding bug in one shows against the other."""
    d = Deployment(
        metadata=reconcile.ObjectMeta(name="d", namespace="default"),
        spec=DeploymentSpec(
            replicas=replicas,
            strategy=DeploymentStrategy(
                type=DeploymentStrategyType.ROLLING_UPDATE,
                rolling_update=RollingUpdateDeployment(
                    max_surge=surge, max_unavailable=unavailable
                ),
            ),
        ),
    )
    assert (max_surge(d), max_unavailable(d)) == fenceposts(d)
