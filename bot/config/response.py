"""The `response:` section: the runbook's incident-response procedure on timers, per severity.

P1's timeline is the runbook's (diagnosis prompt at 15 min, resolution prompt at 30 min); P2–P4 follow it
"with relaxed timelines": each phase's time is multiplied by the severity's factor, and a severity without
one gets no timed prompts. Paging and status-page cadences live in `escalation:` and `statuspage:`.
"""

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from bot.config.types import Regex
from bot.incidents.severity import Severity

MAJOR = [Severity.P1, Severity.P2]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Relaxed(Strict):
    """How much slower each severity's procedure runs than P1's; unset: no timed prompts."""

    P1: PositiveFloat | None = 1
    P2: PositiveFloat | None = 2
    P3: PositiveFloat | None = 4
    P4: PositiveFloat | None = None

    def factor(self, severity: Severity) -> float | None:
        value: float | None = getattr(self, severity.value)
        return value


class LogPattern(Strict):
    """One of the runbook's "key log patterns": lines of `file` matching `pattern` are counted."""

    name: str = Field(min_length=1)
    file: Path
    pattern: Regex = Field(min_length=1)


def _runbook_patterns() -> list[LogPattern]:
    logs = Path("/var/log/audio-tai-loc")
    return [
        LogPattern(name="errors", file=logs / "error.log", pattern="ERROR|CRITICAL|FATAL"),
        LogPattern(name="payment failures", file=logs / "app.log", pattern="payment.*failed|payment.*error"),
        LogPattern(name="database issues", file=logs / "app.log", pattern="database.*error|connection.*failed"),
        LogPattern(name="authentication failures", file=logs / "app.log", pattern="auth.*failed|unauthorized"),
    ]


class Diagnostics(Strict):
    """What runs automatically when a checklist severity opens (the runbook's immediate actions)."""

    health_timeout_seconds: PositiveFloat = 5.0
    recent_runs_hours: PositiveInt = 24
    log_tail_lines: PositiveInt = 1000
    log_patterns: list[LogPattern] = Field(default_factory=_runbook_patterns)


class ResponseConfig(Strict):
    diagnosis_after_minutes: PositiveInt = 15
    resolution_after_minutes: PositiveInt = 30
    relaxed: Relaxed = Field(default_factory=Relaxed)
    # Severities whose thread gets the immediate-actions checklist, communication checklist and diagnostics
    # at open; the others get the timed prompts only (their threads carry key events only).
    checklist_at_open: list[Severity] = Field(default_factory=lambda: list(MAJOR))
    # Severities that page the escalation matrix at open (and escalate after escalation.ack_timeout_minutes).
    page: list[Severity] = Field(default_factory=lambda: list(MAJOR))
    # Severities whose thread gets every timeline event; the others get key events only (no notes).
    every_event: list[Severity] = Field(default_factory=lambda: list(MAJOR))
    # Severities whose postmortem is uploaded to the thread on resolve (any can be exported from the CLI).
    postmortem_upload: list[Severity] = Field(default_factory=lambda: list(MAJOR))
    # `/incident declare TITLE` without a severity.
    default_severity: Severity = Severity.P3
    # Where the resolution prompt's rollback buttons roll back.
    rollback_environment: str = Field(default="production", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    diagnostics: Diagnostics = Field(default_factory=Diagnostics)

    def phase_offsets(self, severity: Severity) -> dict[str, timedelta] | None:
        """When the diagnosis and resolution prompts come, after the procedure started; None: never."""
        factor = self.relaxed.factor(severity)
        if factor is None:
            return None
        return {"diagnosis": timedelta(minutes=self.diagnosis_after_minutes * factor),
                "resolution": timedelta(minutes=self.resolution_after_minutes * factor)}
