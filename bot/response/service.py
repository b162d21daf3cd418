"""The incident response capability's entry points for commands and buttons: which incident a person
means, and the changes they make (declare, severity, ack, commander, note, resolve) through the incident
service, so alerts' incidents and declared ones are the same objects with the same thread and procedure."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.config import AppConfig
from bot.incidents import lifecycle
from bot.incidents.events import IncidentChange, IncidentObserver
from bot.incidents.model import Incident, TimelineEvent
from bot.incidents.service import IncidentService
from bot.incidents.severity import Severity
from bot.response import record, steps
from bot.response.procedure import Procedure
from bot.response.publish import StatusPublisher
from bot.scheduler import Scheduler, Timer
from bot.store import incidents as incident_rows
from bot.store.db import Store


@dataclass(frozen=True)
class NotFound:
    """Why no incident was selected, for the person who asked."""

    problem: str


class ResponseService:
    def __init__(self, config: AppConfig, store: Store, scheduler: Scheduler, incidents: IncidentService,
                 observer: IncidentObserver, proc: Procedure, publisher: StatusPublisher) -> None:
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.incidents = incidents
        self.observer = observer
        self.procedure = proc
        self.publisher = publisher
        self._clock_users: list[Callable[[Clock], None]] = []

    @property
    def clock(self) -> Clock:
        return self.scheduler.clock

    def now(self) -> datetime:
        return self.scheduler.clock.now()

    def on_clock(self, use: Callable[[Clock], None]) -> None:
        """Something else that must follow the same clock (the alert processor, the run engine)."""
        self._clock_users.append(use)

    def use_clock(self, clock: Clock) -> None:
        """Tests drive time by hand: timers, timestamps of people's changes and of alerts follow `clock`."""
        self.scheduler.clock = clock
        self.incidents.clock = clock.now
        for use in self._clock_users:
            use(clock)

    # -- which incident -------------------------------------------------------------------------------

    async def select(self, incident_id: int | None, channel: str | None, thread_ts: str | None) -> Incident | NotFound:
        """#ID when given; else the incident whose thread this is; else the only open incident."""
        async with self.store.connection() as conn:
            if incident_id is not None:
                found = await incident_rows.get(conn, incident_id)
                return found or NotFound(f"There is no incident #{incident_id}.")
            if channel and thread_ts:
                found = await incident_rows.by_thread(conn, channel, thread_ts)
                if found is not None:
                    return found
            open_now = await incident_rows.open_incidents(conn)
        if len(open_now) == 1:
            return open_now[0]
        if not open_now:
            return NotFound("No incident is open. Declare one with `/incident declare P2 TITLE`, or name a "
                            "resolved one with #ID.")
        shown = ", ".join(f"#{i.id} ({i.severity} {i.title[:40]})" for i in open_now[:5])
        more = f" and {len(open_now) - 5} more" if len(open_now) > 5 else ""
        return NotFound(f"{len(open_now)} incidents are open: {shown}{more}. Say which with #ID, "
                        f"e.g. `/incident #{open_now[0].id} …`, or run it in the incident's thread.")

    # -- changes --------------------------------------------------------------------------------------

    async def declare(self, severity: Severity, title: str, actor: str, description: str | None = None) -> Incident:
        return await record.declare(self.store, self.observer, severity=severity, title=title, actor=actor,
                                    at=self.now(), description=description)

    async def set_severity(self, incident_id: int, severity: Severity, actor: str) -> IncidentChange:
        return await self.incidents.set_severity(incident_id, severity, actor)

    async def acknowledge(self, incident_id: int, actor: str) -> IncidentChange:
        return await self.incidents.acknowledge(incident_id, actor)

    async def set_commander(self, incident_id: int, commander: str, actor: str) -> IncidentChange:
        return await self.incidents.apply(incident_id, lambda inc, at: steps.set_commander(inc, commander, at, actor))

    async def note(self, incident_id: int, text: str, actor: str) -> IncidentChange:
        return await self.incidents.apply(incident_id, lambda inc, at: steps.note(inc, text, at, actor))

    async def checklist_done(self, incident_id: int, item: str, label: str, actor: str) -> IncidentChange:
        return await self.incidents.apply(incident_id, lambda inc, at: steps.checklist(inc, at, item, label, actor))

    async def resolve(self, incident_id: int, summary: str, actor: str) -> IncidentChange:
        return await self.incidents.apply(incident_id, lambda inc, at: lifecycle.resolve(inc, at, actor, summary))

    # -- reading --------------------------------------------------------------------------------------

    async def timeline(self, incident_id: int) -> list[TimelineEvent]:
        async with self.store.connection() as conn:
            return await incident_rows.timeline(conn, incident_id)

    async def pending_timers(self, incident_id: int) -> list[Timer]:
        return await self.scheduler.pending(incident_id=incident_id)
