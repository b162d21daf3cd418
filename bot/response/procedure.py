"""The runbook's response procedure on durable timers, driven by incident changes.

As an IncidentObserver (after the thread publisher, in the same transaction) it:
- on open or reopen: posts the immediate-actions checklist and starts the diagnostics (checklist
  severities), pages the escalation matrix (paging severities), prompts for a status-page update (severities
  with a cadence), and arms the diagnosis and resolution prompts at the severity's relaxed times;
- on a severity change: re-arms what has not fired yet for the new severity, and starts what the new
  severity has and the old one had not (paging, checklist, status-page prompts);
- on acknowledgement: stops escalating;
- on resolve: cancels every pending timer, owes the status page its final update (a prompt, or the
  automatic resolve), and uploads the postmortem (bot.response.timers does the firing side).
Timers are keyed per incident, so re-arming replaces and a restart finds them all in PostgreSQL.
"""

from datetime import datetime, timedelta

from bot.config import AppConfig
from bot.incidents.events import IncidentChange, IncidentObserver, NoObserver, Tx
from bot.incidents.model import Incident, TimelineKind
from bot.incidents.service import Step, alerts_of
from bot.incidents.severity import Severity
from bot.response import escalation, steps
from bot.response import statuspage as status_state
from bot.response.prompts import OpenPlan, Prompts, StatusPrompt
from bot.response.record import apply_in
from bot.scheduler import Scheduler, TimerState
from bot.statuspage import StatusPage
from bot.store import incidents as incident_rows
from bot.store import timers as timer_rows

PHASE = "incident.phase"
DIAGNOSTICS = "incident.diagnostics"
STATUS_PROMPT = "incident.statuspage"
ESCALATE = "incident.escalate"
POSTMORTEM = "incident.postmortem"
STATUS_RESOLVE = "incident.statuspage_resolve"
WHILE_OPEN = [PHASE, DIAGNOSTICS, STATUS_PROMPT, ESCALATE]
PHASES = ("diagnosis", "resolution")


def phase_key(incident_id: int, phase: str) -> str:
    return f"incident:{incident_id}:phase:{phase}"


def diagnostics_key(incident: Incident) -> str:
    return f"incident:{incident.id}:diagnostics:{incident.reopened_count}"


def status_key(incident_id: int) -> str:
    return f"incident:{incident_id}:statuspage"


def escalate_key(incident_id: int) -> str:
    return f"incident:{incident_id}:escalate"


def postmortem_key(incident: Incident) -> str:
    return f"incident:{incident.id}:postmortem:{incident.reopened_count}"


def status_resolve_key(incident: Incident) -> str:
    return f"incident:{incident.id}:statuspage-resolve:{incident.reopened_count}"


class Procedure:
    def __init__(self, config: AppConfig, scheduler: Scheduler, prompts: Prompts, page: StatusPage) -> None:
        self.config = config
        self.response = config.response
        self.scheduler = scheduler
        self.prompts = prompts
        self.page = page
        # Where timer-driven changes are recorded: the whole observer chain (set by bot.response.install),
        # so the thread's header follows them too.
        self.observer: IncidentObserver = NoObserver()

    def now(self) -> datetime:
        return self.scheduler.clock.now()

    def committed(self) -> None:
        self.scheduler.wake()

    async def changed(self, tx: Tx, change: IncidentChange) -> None:
        incident = change.incident
        kinds = {e.kind for e in change.events}
        if TimelineKind.RESOLVED in kinds and not incident.is_open:
            await self.stop(tx, incident)
            return
        if not incident.is_open:
            return
        if kinds & {TimelineKind.OPENED, TimelineKind.REOPENED}:
            await self.start(tx, incident)
        elif TimelineKind.SEVERITY_CHANGED in kinds and change.previous_severity not in (None, incident.severity):
            assert change.previous_severity is not None
            await self.severity_changed(tx, incident, change.previous_severity)
        if TimelineKind.ACKNOWLEDGED in kinds:
            await self.scheduler.cancel(escalate_key(incident.id), tx=tx)

    # -- open -----------------------------------------------------------------------------------------

    async def start(self, tx: Tx, incident: Incident) -> None:
        now = self.now()
        phases = await self._arm_phases(tx, incident, now, replace=True)
        severity = incident.severity
        if severity in self.response.checklist_at_open:
            await self._checklist(tx, incident, phases, now)
        if severity in self.response.page and incident.acknowledged_at is None:
            await self.page_next(tx, incident, now, paged=[], level=1, quiet=True)
        if self.cadence(severity) is not None:
            await self.prompt_status(tx, incident, now, quiet=True)

    async def _checklist(self, tx: Tx, incident: Incident, phases: dict[str, datetime], now: datetime) -> None:
        escalation_config = self.config.escalation
        every = self.cadence(incident.severity)
        timeout = escalation_config.ack_timeout_minutes.for_severity(incident.severity.value)
        plan = OpenPlan(phases=phases, status_page_every_min=int(every.total_seconds() // 60) if every else None,
                        ack_timeout_min=int(timeout.total_seconds() // 60)
                        if timeout and incident.severity in self.response.page else None,
                        matrix_empty=not escalation_config.matrix)
        await self.prompts.opened(tx, incident, plan)
        await self.scheduler.schedule(DIAGNOSTICS, now, {}, key=diagnostics_key(incident), incident_id=incident.id,
                                      replace=True, tx=tx)

    async def _arm_phases(self, tx: Tx, incident: Incident, now: datetime, *, replace: bool,
                          anchor: datetime | None = None) -> dict[str, datetime]:
        """Arm the diagnosis and resolution prompts; those already fired stay fired unless `replace`."""
        offsets = self.response.phase_offsets(incident.severity)
        if offsets is None:
            for phase in PHASES:
                await self.scheduler.cancel(phase_key(incident.id, phase), tx=tx)
            return {}
        start = anchor or now
        due: dict[str, datetime] = {}
        for phase, offset in offsets.items():
            key = phase_key(incident.id, phase)
            if not replace:
                existing = await timer_rows.get(tx, key)
                if existing is not None and existing.state is TimerState.FIRED:
                    continue
            due[phase] = start + offset
            await self.scheduler.schedule(PHASE, start + offset, {"phase": phase, "anchor": start.isoformat()},
                                          key=key, incident_id=incident.id, replace=True, tx=tx)
        return due

    # -- severity -------------------------------------------------------------------------------------

    async def severity_changed(self, tx: Tx, incident: Incident, before: Severity) -> None:
        now = self.now()
        anchors = [t.payload.get("anchor") for t in await timer_rows.pending(tx, incident_id=incident.id)
                   if t.kind == PHASE]
        anchor = datetime.fromisoformat(anchors[0]) if anchors and anchors[0] else None
        phases = await self._arm_phases(tx, incident, now, replace=False, anchor=anchor)
        severity = incident.severity
        checklist = self.response.checklist_at_open
        if severity in checklist and before not in checklist and await timer_rows.get(
                tx, diagnostics_key(incident)) is None:
            await self._checklist(tx, incident, phases, now)
        if severity in self.response.page and incident.acknowledged_at is None:
            if before not in self.response.page:
                paged = await self._already_paged(tx, incident)
                await self.page_next(tx, incident, now, paged=paged, level=len(paged) + 1, quiet=True)
        else:
            await self.scheduler.cancel(escalate_key(incident.id), tx=tx)
        every = self.cadence(severity)
        if every is None:
            await self.scheduler.cancel(status_key(incident.id), tx=tx)
            return
        current = await timer_rows.get(tx, status_key(incident.id))
        if current is None or current.state is not TimerState.PENDING:
            await self.prompt_status(tx, incident, now, quiet=True)
        elif current.next_at > now + every:
            await self.scheduler.schedule(STATUS_PROMPT, now + every, {}, key=status_key(incident.id),
                                          incident_id=incident.id, replace=True, tx=tx)

    async def _already_paged(self, tx: Tx, incident: Incident) -> list[str]:
        events = await incident_rows.latest_events(tx, incident.id, [TimelineKind.ESCALATED.value], limit=100)
        return [who for e in events for who in e.data.get("paged", [])]

    # -- paging ---------------------------------------------------------------------------------------

    async def page_next(self, tx: Tx, incident: Incident, now: datetime, *, paged: list[str], level: int,
                        quiet: bool) -> None:
        """Page the next reachable person; arm the escalation to the one after. `quiet`: record the event
        directly (inside an observer); otherwise through the incident service (a timer's firing)."""
        decision = escalation.decide(self.config.escalation, self.config.zone, now, incident.severity, paged)
        if decision.matrix_empty:
            return
        if decision.page is None:
            if level == 1:
                text = "Nobody in the escalation matrix is reachable now"
            else:
                text = f"Everyone reachable has been paged ({len(paged)}) and nobody acknowledged"
            await self.prompts.paged(tx, incident, decision, level, paged)
            await self._record(tx, incident, now, quiet, lambda inc, at: steps.escalated(inc, at, [], level, text))
            return
        who = decision.page.contact
        await self.prompts.paged(tx, incident, decision, level, paged)
        text = f"Paged {who.name} ({who.role}, {decision.page.why})" + (
            " — escalated: nobody acknowledged" if level > 1 else "")
        await self._record(tx, incident, now, quiet,
                           lambda inc, at: steps.escalated(inc, at, [who.slack_id], level, text))
        if decision.timeout is not None:
            await self.scheduler.schedule(ESCALATE, now + decision.timeout,
                                          {"paged": [*paged, who.slack_id], "level": level + 1},
                                          key=escalate_key(incident.id), incident_id=incident.id, replace=True, tx=tx)

    # -- status page ----------------------------------------------------------------------------------

    def cadence(self, severity: Severity) -> timedelta | None:
        return self.config.statuspage.prompt_every_minutes.for_severity(severity.value)

    async def status_prompt_for(self, tx: Tx, incident: Incident, *, final: bool = False,
                                problem: str | None = None) -> StatusPrompt:
        timeline = await incident_rows.timeline(tx, incident.id)
        alerts = await alerts_of(tx, incident)
        every = self.cadence(incident.severity)
        return StatusPrompt(
            draft=status_state.draft(incident, timeline, alerts, self.config.statuspage),
            state=status_state.state_of(timeline), configured=self.page.configured, page_name=self.page.name,
            final=final, every_min=int(every.total_seconds() // 60) if every else None, problem=problem)

    async def prompt_status(self, tx: Tx, incident: Incident, now: datetime, *, quiet: bool) -> None:
        """Post the status-page prompt with a draft, record it, and arm the next one."""
        prompt = await self.status_prompt_for(tx, incident)
        await self.prompts.status_prompt(tx, incident, prompt)
        every = self.cadence(incident.severity)
        text = f"Status-page update prompted (draft: {prompt.draft.status.value})"
        await self._record(tx, incident, now, quiet, lambda inc, at: steps.reminder(
            inc, at, "statuspage", text, status=prompt.draft.status.value))
        if every is not None:
            await self.scheduler.schedule(STATUS_PROMPT, now + every, {}, key=status_key(incident.id),
                                          incident_id=incident.id, replace=True, tx=tx)

    # -- resolve --------------------------------------------------------------------------------------

    async def stop(self, tx: Tx, incident: Incident) -> None:
        now = self.now()
        await self.scheduler.cancel_for_incident(incident.id, kinds=WHILE_OPEN, tx=tx)
        state = status_state.state_of(await incident_rows.timeline(tx, incident.id, status_state.STATE_KINDS))
        if state.open_on_page:
            if self.config.statuspage.auto_resolve and self.page.configured and state.ref is not None:
                await self.scheduler.schedule(STATUS_RESOLVE, now, {}, key=status_resolve_key(incident),
                                              incident_id=incident.id, tx=tx)
            else:
                prompt = await self.status_prompt_for(tx, incident, final=True)
                await self.prompts.status_prompt(tx, incident, prompt)
                await self._record(tx, incident, now, True, lambda inc, at: steps.reminder(
                    inc, at, "statuspage_final", "Final status-page update prompted (resolved)", status="resolved"))
        if incident.severity in self.response.postmortem_upload:
            await self.scheduler.schedule(POSTMORTEM, now, {}, key=postmortem_key(incident), incident_id=incident.id,
                                          tx=tx)

    # -- recording ------------------------------------------------------------------------------------

    async def _record(self, tx: Tx, incident: Incident, now: datetime, quiet: bool, step: Step) -> None:
        if quiet:
            _, events = step(incident, now)
            await incident_rows.add_events(tx, events)
        else:
            await self.apply(tx, incident.id, step)

    async def apply(self, tx: Tx, incident_id: int, step: Step) -> IncidentChange:
        return await apply_in(tx, self.observer, incident_id, step, self.now())
