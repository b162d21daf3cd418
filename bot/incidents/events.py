"""What the incident domain tells presentation layers: one IncidentChange per committed change.

The domain decides and records; an IncidentObserver (the Slack thread publisher, later the console)
turns changes into messages; what else it shows (e.g. the group's alerts, `incidents.service.alerts_of`)
it reads when it renders. `changed` runs inside the domain's transaction so that whatever the
observer queues (the Slack outbox) commits or rolls back together with the change itself.
"""

from dataclasses import dataclass, field
from typing import Protocol

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from bot.incidents.model import Incident, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity

Tx = AsyncConnection[DictRow]


@dataclass
class IncidentChange:
    incident: Incident  # state after the change
    events: list[TimelineEvent] = field(default_factory=list)  # new timeline entries, oldest first
    previous_severity: Severity | None = None  # severity before this change

    @property
    def opened(self) -> bool:
        return any(e.kind is TimelineKind.OPENED for e in self.events)

    def has(self, kind: TimelineKind) -> bool:
        return any(e.kind is kind for e in self.events)

    @property
    def severity_raised(self) -> bool:
        prev = self.previous_severity
        return prev is not None and self.incident.severity.is_above(prev)


class IncidentObserver(Protocol):
    async def changed(self, tx: Tx, change: IncidentChange) -> None:
        """Called inside the transaction that records the change."""

    def committed(self) -> None:
        """Called after that transaction committed (e.g. to wake a sender)."""


class NoObserver:
    async def changed(self, tx: Tx, change: IncidentChange) -> None:
        return None

    def committed(self) -> None:
        return None
