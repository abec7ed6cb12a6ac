"""
An Indexed Job's ``successPolicy``: when enough indexes succeeded. Pure.

Kubernetes: ``matchSuccessPolicy`` in pkg/controller/job/success_policy.go.
"""

from __future__ import annotations

from collections.abc import Collection

from controllers.api.batch import SuccessPolicy
from controllers.job.indexes import parse_intervals

__all__ = ["SUCCESS_POLICY_MESSAGE", "match_success_policy"]

SUCCESS_POLICY_MESSAGE = "Matched rules"
"""The start of the ``SuccessCriteriaMet`` message; `` at index N`` names the rule."""


def match_success_policy(
    policy: SuccessPolicy | None, completions: int, succeeded: Collection[int]
) -> str | None:
    """
    The message of the first rule of ``policy`` that the ``succeeded`` indexes meet, if any.

    A rule with ``succeededIndexes`` is met when those indexes (below
    ``completions``) all succeeded, or at least ``succeededCount`` of them;
    a rule with only ``succeededCount`` when that many indexes succeeded. A
    rule whose index list is empty or malformed never matches. The message
    is "Matched rules at index I".
    """
    if policy is None:
        return None
    done = set(succeeded)
    for index, rule in enumerate(policy.rules):
        if rule.succeeded_indexes is not None:
            try:
                required = parse_intervals(rule.succeeded_indexes, completions=completions)
            except ValueError:
                continue
            if not required:
                continue
            hits = len(required & done)
            wanted = len(required) if rule.succeeded_count is None else rule.succeeded_count
            if hits >= wanted:
                return f"{SUCCESS_POLICY_MESSAGE} at index {index}"
        elif rule.succeeded_count is not None and len(done) >= rule.succeeded_count:
            return f"{SUCCESS_POLICY_MESSAGE} at index {index}"
    return None
