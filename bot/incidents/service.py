"""Incident changes made by people (buttons today, /incident later): lock, decide, record, tell observers."""

from collections.abc import Callable
from datetime import UTC, datetime

from bot.incidents import lifecycle
from bot.incidents.events import IncidentChange, IncidentObserver, Tx
from bot.incidents.model import Incident, IncidentAlert
from bot.incidents.severity import Severity
from bot.store import alerts as alert_rows
from bot.store import incidents as incident_rows
from bot.store.db import Store


class NoSuchIncident(LookupError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"there is no incident #{incident_id}")
        self.incident_id = incident_id


def utcnow() -> datetime:
    return datetime.now(UTC)


Step = Callable[[Incident, datetime], lifecycle.Outcome]


async def alerts_of(conn: Tx, incident: Incident) -> list[IncidentAlert]:
    """The alerts of an incident's group, firing first."""
    rows = await alert_rows.incident_alerts(conn, incident.id)
    alerts = [IncidentAlert(fingerprint=r.fingerprint, status=r.status or "firing", labels=r.labels,
                            annotations=r.annotations, starts_at=r.starts_at or incident.opened_at,
                            ends_at=r.ends_at, generator_url=r.generator_url,
                            severity=Severity(r.severity) if r.severity else None) for r in rows]
    return sorted(alerts, key=lambda a: (not a.firing, a.starts_at, a.name))


class IncidentService:
    def __init__(self, store: Store, observer: IncidentObserver, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.observer = observer
        self.clock = clock

    async def get(self, incident_id: int) -> Incident | None:
        async with self.store.connection() as conn:
            return await incident_rows.get(conn, incident_id)

    async def alerts(self, conn: Tx, incident: Incident) -> list[IncidentAlert]:
        return await alerts_of(conn, incident)

    async def apply(self, incident_id: int, step: Step) -> IncidentChange:
        """Run one lifecycle step under the incident's row lock; observers see it if it changed anything."""
        async with self.store.transaction() as tx:
            incident = await incident_rows.get(tx, incident_id, for_update=True)
            if incident is None:
                raise NoSuchIncident(incident_id)
            after, events = step(incident, self.clock())
            change = IncidentChange(incident=after, previous_severity=incident.severity)
            if not events:
                change.incident = incident
                return change
            change.incident = await incident_rows.update(tx, after)
            change.events = await incident_rows.add_events(tx, events)
            await self.observer.changed(tx, change)
        self.observer.committed()
        return change

    async def acknowledge(self, incident_id: int, actor: str) -> IncidentChange:
        return await self.apply(incident_id, lambda inc, now: lifecycle.acknowledge(inc, actor, now))

    async def set_severity(self, incident_id: int, severity: Severity, actor: str) -> IncidentChange:
        return await self.apply(incident_id, lambda inc, now: lifecycle.change_severity(
            inc, severity, now, actor, "set by hand"))

    async def record_silence(self, incident_id: int, actor: str, silence_id: str, starts: datetime,
                             until: datetime, matchers: dict[str, str]) -> IncidentChange:
        return await self.apply(incident_id, lambda inc, now: lifecycle.silence(
            inc, actor, now, until - starts, until, silence_id, matchers))
