"""Incident, its timeline, and what an incident knows about the Alertmanager group behind it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.incidents.severity import Severity


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IncidentSource(StrEnum):
    ALERTMANAGER = "alertmanager"
    DECLARED = "declared"


class TimelineKind(StrEnum):
    """What can happen to an incident; the lifecycle issue adds declared, commander, note, … here."""

    OPENED = "opened"
    ALERT_FIRED = "alert_fired"
    ALERT_RESOLVED = "alert_resolved"
    SEVERITY_CHANGED = "severity_changed"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    # Runbook runs tied to an incident (written by the runbook engine).
    RUN_STARTED = "run_started"
    RUN_APPROVED = "run_approved"
    RUN_FINISHED = "run_finished"
    # The response procedure (bot.response): people, prompts, paging, the status page.
    COMMANDER_SET = "commander_set"
    NOTE = "note"
    REMINDER = "reminder"
    ESCALATED = "escalated"
    DIAGNOSTICS = "diagnostics"
    STATUS_PAGE = "status_page"
    CHECKLIST = "checklist"


class AlertGroup(BaseModel):
    """The Alertmanager group an incident follows, as of the latest notification."""

    model_config = ConfigDict(frozen=True)

    receiver: str
    group_key: str
    external_url: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict)
    common_labels: dict[str, str] = Field(default_factory=dict)
    common_annotations: dict[str, str] = Field(default_factory=dict)
    truncated_alerts: int = 0

    @property
    def identity_labels(self) -> dict[str, str]:
        """Labels that select the group's alerts (for silences): groupLabels, else commonLabels."""
        return dict(self.group_labels or self.common_labels)


@dataclass(frozen=True, slots=True)
class IncidentAlert:
    """One alert of an incident's group, as the incident last saw it (built from stored rows, so a plain
    dataclass: storms build thousands of these)."""

    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    severity: Severity | None = None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", self.fingerprint)

    @property
    def firing(self) -> bool:
        return self.status == "firing"


class Incident(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    severity: Severity
    title: str
    status: IncidentStatus
    source: IncidentSource
    am_receiver: str | None = None
    am_group_key: str | None = None
    alert_group: AlertGroup | None = None
    commander: str | None = None
    declared_by: str | None = None
    # Where the incident's header message lives; thread_ts is known once Slack has accepted the post.
    channel: str | None = None
    thread_ts: str | None = None
    header_outbox_id: int | None = None
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    summary: str | None = None
    reopened_count: int = 0
    silenced_until: datetime | None = None
    silenced_by: str | None = None
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status is IncidentStatus.OPEN

    @property
    def duration(self) -> timedelta | None:
        return self.resolved_at - self.opened_at if self.resolved_at is not None else None

    def changed(self, **fields: Any) -> "Incident":
        return self.model_copy(update=fields)


class TimelineEvent(BaseModel):
    """One entry of the timeline of record; `id` is None until stored."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    incident_id: int
    at: datetime
    kind: TimelineKind
    actor: str | None = None
    text: str
    data: dict[str, Any] = Field(default_factory=dict)
