"""Recording incident changes the response procedure makes: declaring, and steps applied inside a caller's
transaction (a timer's firing), so the change commits — or is retried — with the firing itself.

People's changes go through IncidentService.apply, which opens its own transaction; both reach the same
observer, so Slack sees every change the same way.
"""

from datetime import datetime

from bot.incidents import lifecycle
from bot.incidents.events import IncidentChange, IncidentObserver, Tx
from bot.incidents.model import Incident, IncidentSource, TimelineKind
from bot.incidents.service import NoSuchIncident, Step
from bot.incidents.severity import Severity
from bot.store import incidents as incident_rows
from bot.store.db import Store


async def apply_in(tx: Tx, observer: IncidentObserver, incident_id: int, step: Step, now: datetime,
                   ) -> IncidentChange:
    """IncidentService.apply within `tx`: lock, decide, record, tell the observer (its messages commit with tx)."""
    incident = await incident_rows.get(tx, incident_id, for_update=True)
    if incident is None:
        raise NoSuchIncident(incident_id)
    after, events = step(incident, now)
    change = IncidentChange(incident=incident, previous_severity=incident.severity)
    if not events:
        return change
    change.incident = await incident_rows.update(tx, after)
    change.events = await incident_rows.add_events(tx, events)
    await observer.changed(tx, change)
    return change


async def declare(store: Store, observer: IncidentObserver, *, severity: Severity, title: str, actor: str,
                  at: datetime, description: str | None = None) -> Incident:
    """Open an incident by hand; it is the same Incident an alert opens, with the same thread and procedure."""
    async with store.transaction() as tx:
        incident = await incident_rows.insert(tx, incident_rows.NewIncident(
            severity=severity, title=title, source=IncidentSource.DECLARED.value, opened_at=at, declared_by=actor))
        events = [lifecycle.event(incident, TimelineKind.OPENED, at, f"Declared {severity} by <@{actor}>: {title}",
                                  actor, declared=True)]
        if description:
            events.append(lifecycle.event(incident, TimelineKind.NOTE, at, description, actor, follow_up=False,
                                          note=description))
        change = IncidentChange(incident=incident, events=await incident_rows.add_events(tx, events))
        await observer.changed(tx, change)
        declared = change.incident
    observer.committed()
    return declared
