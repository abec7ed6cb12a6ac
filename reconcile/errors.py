"""
Every error the framework raises, and how each one decides a retry.

::

    ReconcileError                      root of everything raised here
    ├── TerminalError                   never retried; the key is forgotten
    ├── RetryAfter(delay)               retried after exactly ``delay`` seconds
    └── ApiError(code, reason)          a cluster backend refused a request
        ├── NotFoundError       404     usually means "done": the object is gone
        ├── ConflictError       409     stale resourceVersion: retried at once, quietly
        │   └── FencedError     409     a write by a replica that no longer holds its lease
        ├── AlreadyExistsError  409     create of a name that is taken
        ├── ExpiredError        410     a watch/list version was compacted: relist
        ├── InvalidError        422     admission rejected the object; names each field
        ├── TooManyRequestsError 429    throttled; retried after ``retry_after``
        └── ServerError         500     anything else from the backend; retried with backoff

Any other exception escaping a reconcile is retried with the rate limiter
and logged with its traceback. Backends map their native failures onto
this tree at the boundary (``raise ... from exc``), so controllers behave
the same over memory, etcd or a real Kubernetes API server.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "AlreadyExistsError",
    "ApiError",
    "ConflictError",
    "ExpiredError",
    "FencedError",
    "FieldError",
    "InvalidError",
    "NotFoundError",
    "ReconcileError",
    "RetryAfter",
    "ServerError",
    "TerminalError",
    "TooManyRequestsError",
]


class ReconcileError(Exception):
    """Root of every error raised by ``reconcile``."""


class TerminalError(ReconcileError):
    """An error that retrying cannot fix: the key is forgotten, not requeued."""


class RetryAfter(ReconcileError):  # noqa: N818  # reads as an instruction: raise RetryAfter(5)
    """Ask to be reconciled again after ``delay`` seconds (instead of the backoff)."""

    def __init__(self, delay: float, message: str = "") -> None:
        if delay < 0:
            raise ValueError(f"delay: must be >= 0, got {delay}")
        super().__init__(message or f"retry after {delay:g}s")
        self.delay = delay


class ApiError(ReconcileError):
    """A request to a cluster backend failed; ``code`` is the HTTP status it maps to."""

    code: int = 500
    reason: str = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ApiError):
    code = 404
    reason = "NotFound"


class ConflictError(ApiError):
    code = 409
    reason = "Conflict"


class FencedError(ConflictError):
    """
    A write refused because its writer no longer holds the lease it acts under.

    Raised by a fenced client (:meth:`reconcile.LeaderElector.fenced`): the
    writer either no longer believes it leads, or the Lease in the API names
    another holder or a later term (``leaseTransitions``). Like any conflict it
    is retried, and the retry is refused again until the writer leads anew.
    The message names the lease, this writer and the holder the API records.
    """

    reason = "Fenced"


class AlreadyExistsError(ApiError):
    code = 409
    reason = "AlreadyExists"


class ExpiredError(ApiError):
    """The requested resourceVersion is older than the retained history (410 Gone)."""

    code = 410
    reason = "Expired"


class TooManyRequestsError(ApiError):
    code = 429
    reason = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(ApiError):
    code = 500
    reason = "InternalError"


@attrs.frozen(kw_only=True)
class FieldError:
    """
    One problem with one field, as in Kubernetes' ``field.Error``.

    ``type`` is one of Kubernetes' reasons: ``Invalid value``, ``Required value``,
    ``Unsupported value``, ``Forbidden``, ``Duplicate value``, ``Not found``,
    ``Too long``, ``Too many``.
    """

    field: str
    type: str = "Invalid value"
    detail: str = ""
    value: object = None

    def __str__(self) -> str:
        text = f"{self.field}: {self.type}"
        if self.type in ("Invalid value", "Unsupported value", "Duplicate value", "Not found"):
            text += f": {self.value!r}"
        if self.detail:
            text += f": {self.detail}"
        return text


class InvalidError(ApiError):
    """
    Admission refused an object (422). ``causes`` name every offending field.

    The message follows Kubernetes: ``Deployment.apps "web" is invalid:
    [spec.replicas: Invalid value: -1: must be greater than or equal to 0]``.
    """

    code = 422
    reason = "Invalid"

    def __init__(self, kind: str, name: str, causes: Iterable[FieldError]) -> None:
        self.kind = kind
        self.name = name
        self.causes = tuple(causes)
        parts = [str(c) for c in self.causes]
        detail = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        super().__init__(f'{kind} "{name}" is invalid: {detail}')
