"""
The errors kubectl reports for workload operations, as exceptions.

Messages are kubectl's own, minus the ``error: `` prefix the command line
adds, so that a test or a lesson can compare them with what a real cluster
prints. Errors of the API itself (``NotFoundError``, ``ConflictError``,
``InvalidError``) are not wrapped: they pass through from the client::

    KubectlError                  a refused operation (bad revision, already paused, ...)
    └── RolloutTimeoutError       waiting for a rollout outlasted its timeout
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["KubectlError", "RolloutTimeoutError"]


class KubectlError(Exception):
    """An operation kubectl would refuse, with kubectl's message."""


class RolloutTimeoutError(KubectlError, TimeoutError):
    """
    ``rollout status --timeout`` ran out before the rollout finished.

    Attributes:
        messages: The distinct status messages seen until then, in order.
    """

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("timed out waiting for the condition")
        self.messages = tuple(messages)
