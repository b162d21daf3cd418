"""One observer for every incident change: the thread publisher first (it places the thread), then the
response procedure. The thread is told only what it should post: the procedure's own messages (prompts,
pages, diagnostics) are not repeated as replies, and P3/P4 threads get key events only."""

from bot.incidents.events import IncidentChange, IncidentObserver, Tx
from bot.incidents.model import TimelineKind
from bot.incidents.severity import Severity

# The procedure posts these itself, richer than a timeline line.
SELF_POSTED = {TimelineKind.REMINDER, TimelineKind.ESCALATED, TimelineKind.DIAGNOSTICS}
# Not key events: on the record, but only threads of `response.every_event` severities show them.
MINOR = {TimelineKind.NOTE, TimelineKind.RUN_APPROVED, TimelineKind.CHECKLIST}


class ResponseObservers:
    def __init__(self, thread: IncidentObserver, procedure: IncidentObserver, every_event: list[Severity]) -> None:
        self.thread = thread
        self.procedure = procedure
        self.every_event = set(every_event)

    def shown(self, change: IncidentChange) -> IncidentChange:
        everything = change.incident.severity in self.every_event
        events = [e for e in change.events if e.kind not in SELF_POSTED and (everything or e.kind not in MINOR)]
        return IncidentChange(incident=change.incident, events=events, previous_severity=change.previous_severity)

    async def changed(self, tx: Tx, change: IncidentChange) -> None:
        shown = self.shown(change)
        await self.thread.changed(tx, shown)
        change.incident = shown.incident  # where the thread now lives (a new or moved header)
        await self.procedure.changed(tx, change)

    def committed(self) -> None:
        self.thread.committed()
        self.procedure.committed()
