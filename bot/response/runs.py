"""Runbook runs that belong to an incident, on its thread: the engine records their timeline rows itself;
this observer of runs hands the same events to the incident's observers (thread reply, header edit) and
notes the first successful rollback as the incident's mitigation."""

from bot.engine.events import RunObserver, Tx
from bot.engine.model import EventKind, RunChange, RunStatus
from bot.engine.transition import TIMELINE
from bot.incidents.events import IncidentChange, IncidentObserver
from bot.incidents.model import TimelineEvent, TimelineKind
from bot.store import incidents as incident_rows


class RunsOnIncidents:
    def __init__(self, runs: RunObserver, incidents: IncidentObserver) -> None:
        self.runs = runs
        self.incidents = incidents

    async def changed(self, tx: Tx, change: RunChange) -> None:
        await self.runs.changed(tx, change)
        run = change.view.run
        if run.incident_id is None:
            return
        events = [TimelineEvent(incident_id=run.incident_id, at=e.at, kind=TimelineKind(TIMELINE[e.kind]),
                                actor=e.actor, text=f"Run #{run.id} ({run.label}): {e.text}",
                                data={"run_id": run.id, "status": run.status.value})
                  for e in change.events if e.kind in TIMELINE]
        if not events:
            return
        finished = any(e.kind is EventKind.FINISHED for e in change.events)
        if finished and run.status is RunStatus.SUCCEEDED and run.runbook.startswith("rollback"):
            await incident_rows.set_mitigated(tx, run.incident_id, events[-1].at)
        incident = await incident_rows.get(tx, run.incident_id)
        if incident is None:
            return
        await self.incidents.changed(tx, IncidentChange(incident=incident, events=events,
                                                        previous_severity=incident.severity))

    def committed(self) -> None:
        self.runs.committed()
        self.incidents.committed()
