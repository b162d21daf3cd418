"""What the procedure tells people, as an interface: the Slack presentation (bot.slack.response_messages)
implements it by queueing thread messages in the caller's transaction; the domain never builds messages."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.incidents.events import Tx
from bot.incidents.model import Incident
from bot.response.diagnostics import Finding
from bot.response.escalation import PageDecision
from bot.response.statuspage import StatusPageState
from bot.statuspage import StatusDraft
from bot.store.incidents import RunRecord


@dataclass(frozen=True)
class OpenPlan:
    """The immediate-actions checklist: when the timed prompts come and whether paging started."""

    phases: dict[str, datetime] = field(default_factory=dict)  # phase -> when its prompt is due
    status_page_every_min: int | None = None
    ack_timeout_min: int | None = None
    matrix_empty: bool = False


@dataclass(frozen=True)
class PhaseContext:
    """What a diagnosis or resolution prompt shows besides the runbook's list."""

    recent_runs: list[RunRecord] = field(default_factory=list)
    next_phase_at: datetime | None = None
    rollback_environment: str = "production"


@dataclass(frozen=True)
class StatusPrompt:
    draft: StatusDraft
    state: StatusPageState
    configured: bool  # False: people copy the draft to the status page by hand
    page_name: str
    final: bool = False  # the incident resolved: close the status-page incident too
    every_min: int | None = None
    problem: str | None = None  # the last attempt to post failed because …


class Prompts(Protocol):
    async def opened(self, tx: Tx, incident: Incident, plan: OpenPlan) -> None: ...

    async def paged(self, tx: Tx, incident: Incident, decision: PageDecision, level: int, paged: list[str],
                    ) -> None: ...

    async def diagnostics(self, tx: Tx, incident: Incident, findings: list[Finding]) -> None: ...

    async def phase(self, tx: Tx, incident: Incident, phase: str, context: PhaseContext) -> None: ...

    async def status_prompt(self, tx: Tx, incident: Incident, prompt: StatusPrompt) -> None: ...

