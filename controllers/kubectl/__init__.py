"""
kubectl's workload verbs: rollout status, history, undo, pause, resume,
restart, scale and set image, plus its ``get`` tables.

Rule: pure functions over objects (:mod:`.status`, :mod:`.history`,
:mod:`.rollback`, :mod:`.edits`, and the ``get`` tables of :mod:`.printers`,
:mod:`.workload_tables` and :mod:`.core_tables`) are kept apart from the
async functions that read and write through a :class:`reconcile.Client`
(:mod:`.operations`); nothing here reads a clock (``now`` is passed in) or
knows about the embedded cluster, which offers these verbs as methods
(:class:`controllers.cluster.workloads.Workloads`). Messages and errors are
kubectl's, word for word, where kubectl has one. The annotation keys are
in :mod:`controllers.kubectl.annotations`.
"""

from __future__ import annotations

from controllers.kubectl.core_tables import (
    endpoints_cell,
    endpoints_table,
    pod_table,
    service_table,
)
from controllers.kubectl.edits import (
    pod_spec_of,
    rfc3339,
    with_change_cause,
    with_images,
    with_paused,
    with_replicas,
    with_restart,
)
from controllers.kubectl.errors import KubectlError, RolloutTimeoutError
from controllers.kubectl.history import (
    HistoryEntry,
    equal_ignore_hash,
    find_revision,
    new_replica_set,
    owned_replica_sets,
    rollout_history,
    without_hash,
)
from controllers.kubectl.operations import (
    history,
    pause,
    restart,
    resume,
    scale,
    set_image,
    status,
    undo,
    watch_rollout,
)
from controllers.kubectl.printers import (
    age,
    deployment_table,
    describe_template,
    history_table,
    human_duration,
    replica_set_table,
    tabwrite,
)
from controllers.kubectl.rollback import Rollback, plan_rollback, revision_to_restore
from controllers.kubectl.status import PROGRESS_DEADLINE_EXCEEDED, RolloutStatus, rollout_status
from controllers.kubectl.workload_tables import (
    cron_job_table,
    daemon_set_table,
    job_completions,
    job_status,
    job_table,
)

__all__ = [
    "PROGRESS_DEADLINE_EXCEEDED",
    "HistoryEntry",
    "KubectlError",
    "Rollback",
    "RolloutStatus",
    "RolloutTimeoutError",
    "age",
    "cron_job_table",
    "daemon_set_table",
    "deployment_table",
    "describe_template",
    "endpoints_cell",
    "endpoints_table",
    "equal_ignore_hash",
    "find_revision",
    "history",
    "history_table",
    "human_duration",
    "job_completions",
    "job_status",
    "job_table",
    "new_replica_set",
    "owned_replica_sets",
    "pause",
    "plan_rollback",
    "pod_spec_of",
    "pod_table",
    "replica_set_table",
    "restart",
    "resume",
    "revision_to_restore",
    "rfc3339",
    "rollout_history",
    "rollout_status",
    "scale",
    "service_table",
    "set_image",
    "status",
    "tabwrite",
    "undo",
    "watch_rollout",
    "with_change_cause",
    "with_images",
    "with_paused",
    "with_replicas",
    "with_restart",
    "without_hash",
]
