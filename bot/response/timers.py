"""What each of the procedure's timers does when it fires (bot.scheduler calls these, exactly once).

Every handler first checks the incident still wants it (open, unacknowledged, the severity still has it):
a timer armed before a change that made it moot just does nothing. The diagnostics take seconds, so they
run in the timer's prepare step, outside its transaction; the handler only records what they found.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.config import AppConfig
from bot.incidents.model import Incident
from bot.incidents.service import NoSuchIncident
from bot.postmortem import load as load_postmortem
from bot.postmortem import render as render_postmortem
from bot.response import diagnostics, procedure, steps
from bot.response.diagnostics import Finding
from bot.response.procedure import Procedure
from bot.response.prompts import PhaseContext
from bot.response.publish import StatusPublisher
from bot.scheduler import Scheduler, Timer
from bot.store import incidents as incident_rows
from bot.store.db import Store

log = logging.getLogger(__name__)

# Uploads a rendered postmortem to the incident's thread; raises to be retried (e.g. the thread is not
# posted yet). Implemented by the Slack side (bot.slack.response_messages).
Uploader = Callable[[Incident, str], Awaitable[None]]


class ProcedureTimers:
    def __init__(self, config: AppConfig, store: Store, proc: Procedure, publisher: StatusPublisher,
                 upload: Uploader) -> None:
        self.config = config
        self.store = store
        self.proc = proc
        self.publisher = publisher
        self.upload = upload

    def register(self, scheduler: Scheduler) -> None:
        # The scheduler cuts a prepare off at half its lease: leave the checks room, even with a long timeout.
        scheduler.on(procedure.DIAGNOSTICS, self.diagnostics, prepare=self.run_all_diagnostics,
                     lease=max(timedelta(minutes=5), 3 * diagnostics.longest(self.config)))
        scheduler.on(procedure.PHASE, self.phase)
        scheduler.on(procedure.STATUS_PROMPT, self.status_prompt)
        scheduler.on(procedure.ESCALATE, self.escalate)
        scheduler.on(procedure.POSTMORTEM, self.postmortem)
        scheduler.on(procedure.STATUS_RESOLVE, self.status_resolve)

    async def _incident(self, timer: Timer, *, lock: bool = True) -> Incident | None:
        """The timer's incident; locked (quick handlers) so a concurrent ack or resolve waits for them."""
        assert timer.tx is not None and timer.incident_id is not None
        return await incident_rows.get(timer.tx, timer.incident_id, for_update=lock)

    async def run_all_diagnostics(self, timer: Timer) -> list[Finding] | None:
        """The checks (seconds of HTTP and log reading), before the firing's transaction opens; None when the
        incident no longer wants them. Side-effect free: a firing that is retried runs them again."""
        assert timer.incident_id is not None
        async with self.store.connection() as conn:
            incident = await incident_rows.get(conn, timer.incident_id)
        if incident is None or not incident.is_open:
            return None
        return await diagnostics.run_all(self.store, self.config, self.proc.now())

    async def diagnostics(self, timer: Timer, findings: list[Finding] | None) -> None:
        incident = await self._incident(timer)
        if findings is None or incident is None or not incident.is_open:
            return
        problems = [f for f in findings if f.ok is False]
        summary = "Diagnostics: " + "; ".join(f.summary for f in findings)
        if problems:
            summary += f" ({len(problems)} need attention)"
        assert timer.tx is not None
        await self.proc.prompts.diagnostics(timer.tx, incident, findings)
        await self.proc.apply(timer.tx, incident.id, lambda inc, at: steps.diagnostics(
            inc, at, summary, [f.model_dump(mode="json") for f in findings]))

    async def phase(self, timer: Timer) -> None:
        incident = await self._incident(timer)
        offsets = self.config.response.phase_offsets(incident.severity) if incident else None
        if incident is None or not incident.is_open or offsets is None:
            return
        phase = str(timer.payload.get("phase"))
        anchor = datetime.fromisoformat(str(timer.payload.get("anchor")))
        now = self.proc.now()
        assert timer.tx is not None
        since = min(anchor, incident.opened_at) - timedelta(hours=self.config.response.diagnostics.recent_runs_hours)
        context = PhaseContext(
            recent_runs=await incident_rows.runs_since(timer.tx, since, limit=10),
            next_phase_at=anchor + offsets["resolution"] if phase == "diagnosis" else None,
            rollback_environment=self.config.response.rollback_environment)
        await self.proc.prompts.phase(timer.tx, incident, phase, context)
        label = {"diagnosis": "Diagnosis", "resolution": "Resolution"}.get(phase, phase)
        took = int((now - anchor).total_seconds() // 60)
        await self.proc.apply(timer.tx, incident.id, lambda inc, at: steps.reminder(
            inc, at, phase, f"{label} prompt posted ({took} min into the procedure)"))

    async def status_prompt(self, timer: Timer) -> None:
        incident = await self._incident(timer)
        if incident is None or not incident.is_open or self.proc.cadence(incident.severity) is None:
            return
        assert timer.tx is not None
        await self.proc.prompt_status(timer.tx, incident, self.proc.now(), quiet=False)

    async def escalate(self, timer: Timer) -> None:
        incident = await self._incident(timer)
        if incident is None or not incident.is_open or incident.acknowledged_at is not None \
                or incident.severity not in self.config.response.page:
            return
        assert timer.tx is not None
        paged = [str(p) for p in timer.payload.get("paged", [])]
        await self.proc.page_next(timer.tx, incident, self.proc.now(), paged=paged,
                                  level=int(timer.payload.get("level", len(paged) + 1)), quiet=False)

    async def postmortem(self, timer: Timer) -> None:
        assert timer.incident_id is not None
        pm = await load_postmortem(self.store, timer.incident_id)
        if pm is None:
            return
        await self.upload(pm.incident, render_postmortem(pm, self.config.zone))

    async def status_resolve(self, timer: Timer) -> None:
        incident = await self._incident(timer, lock=False)
        if incident is None:
            return
        assert timer.tx is not None
        prompt = await self.proc.status_prompt_for(timer.tx, incident, final=True)
        try:
            await self.publisher.resolve_in(timer.tx, incident, prompt.draft, self.proc.apply)
        except NoSuchIncident:
            return
