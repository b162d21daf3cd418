"""A runbook run as recorded: the run, its steps, its approvals, and what changed in one transition."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunStatus(StrEnum):
    PENDING = "pending"  # created, first step not started yet
    RUNNING = "running"
    WAITING = "waiting"  # a dangerous step waits for its confirmation
    SCHEDULED = "scheduled"  # the next step is a follow-up due later; no lock is held
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    CANCELLED = "cancelled"  # e.g. the confirmation expired

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED, RunStatus.CANCELLED)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunStep(Frozen):
    position: int  # 0-based index into the runbook's steps
    step_id: str
    name: str
    handler: str
    dangerous: bool
    status: StepStatus = StepStatus.PENDING
    params: dict[str, Any] = Field(default_factory=dict)  # as rendered, secrets redacted
    summary: str | None = None
    output: str | None = None
    result: dict[str, Any] | None = None  # {"ok": bool, "outputs": {...}}
    confirm_text: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    due_at: datetime | None = None

    @property
    def number(self) -> int:
        return self.position + 1

    @property
    def outputs(self) -> dict[str, Any]:
        return dict((self.result or {}).get("outputs") or {})


class Approval(Frozen):
    id: int
    run_id: int
    position: int
    requested_by: str
    approved_by: str | None
    decision: Decision
    confirm_text: str
    requested_at: datetime
    decided_at: datetime | None
    expires_at: datetime


class Run(Frozen):
    id: int
    runbook: str
    title: str
    environment: str
    params: dict[str, Any]
    requested_by: str
    incident_id: int | None
    status: RunStatus
    two_person_rule: bool
    channel: str | None
    message_ts: str | None
    message_outbox_id: int | None
    lock_token: int | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    finished_by: str | None
    error: str | None
    abort_requested_by: str | None
    rollback_runbook: str | None
    rollback_run_id: int | None
    started_from_run: int | None

    @property
    def lock_name(self) -> str:
        return environment_lock(self.environment)

    @property
    def label(self) -> str:
        """`deploy-blue-green v1.0.0`: the runbook and the parameters a person typed."""
        shown = [str(v) for v in self.params.values() if v not in (None, False, "")]
        return " ".join([self.runbook, *shown])


class RunView(Frozen):
    """Everything a presentation layer needs to draw a run."""

    run: Run
    steps: list[RunStep]
    approvals: list[Approval] = Field(default_factory=list)  # oldest first

    @property
    def approval(self) -> Approval | None:
        """The latest: the pending one while the run waits."""
        return self.approvals[-1] if self.approvals else None

    def approval_of(self, position: int) -> Approval | None:
        return next((a for a in self.approvals if a.position == position), None)

    @property
    def current(self) -> RunStep | None:
        """The step running or waiting, else the next pending one."""
        for step in self.steps:
            if step.status in (StepStatus.RUNNING, StepStatus.WAITING):
                return step
        return next((s for s in self.steps if s.status is StepStatus.PENDING), None)


class EventKind(StrEnum):
    STARTED = "started"
    STEP_FINISHED = "step_finished"
    STEP_SKIPPED = "step_skipped"
    WAITING = "waiting"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    FINISHED = "finished"
    ABORT_REQUESTED = "abort_requested"
    NOTE = "note"


class RunEvent(Frozen):
    """Something worth a line in the run's thread (and the incident timeline when it has one)."""

    kind: EventKind
    at: datetime
    actor: str | None = None
    text: str
    step: RunStep | None = None


class RunChange(Frozen):
    """One committed transition: the run as it now is and what happened."""

    view: RunView
    events: list[RunEvent] = Field(default_factory=list)


def environment_lock(environment: str) -> str:
    """One deploy or rollback at a time per environment: every runbook run shares this lock."""
    return f"env:{environment}"
