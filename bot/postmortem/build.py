"""A postmortem as data, from the incident, its timeline of record and the runbook runs that belonged to it."""

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.incidents.model import Incident, TimelineEvent, TimelineKind
from bot.response.statuspage import state_of
from bot.store import incidents as incident_rows
from bot.store.db import Store
from bot.store.incidents import ApprovalRecord, RunRecord


class Action(BaseModel):
    """A runbook run during the incident and who approved its dangerous steps."""

    model_config = ConfigDict(frozen=True)

    run: RunRecord
    approvals: list[ApprovalRecord]


class Postmortem(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    incident: Incident
    timeline: list[TimelineEvent]
    actions: list[Action]
    follow_ups: list[TimelineEvent]
    alerts: list[str]  # alert names the incident saw
    components: list[str]  # status-page components it affected
    status_page_updates: int
    mitigated_at: datetime | None
    mitigated_by: str  # what counted as the mitigation

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        inc = self.incident
        return inc.acknowledged_at - inc.opened_at if inc.acknowledged_at else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated_at - self.incident.opened_at if self.mitigated_at else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.incident.duration


def _mitigation(incident: Incident, timeline: list[TimelineEvent]) -> tuple[datetime | None, str]:
    """The recorded mitigation, else the first successful rollback, else the resolution."""
    if incident.mitigated_at is not None:
        return incident.mitigated_at, "status page set to monitoring"
    for e in timeline:
        if e.kind is TimelineKind.RUN_FINISHED and e.data.get("status") == "succeeded" and "rollback" in e.text:
            return e.at, "rollback succeeded"
    if incident.resolved_at is not None:
        return incident.resolved_at, "resolved"
    return None, "not yet"


def build(incident: Incident, timeline: list[TimelineEvent], runs: list[RunRecord],
          approvals: list[ApprovalRecord]) -> Postmortem:
    alerts = sorted({str(e.data.get("alertname")) for e in timeline
                     if e.kind is TimelineKind.ALERT_FIRED and e.data.get("alertname")})
    state = state_of(timeline)
    mitigated_at, mitigated_by = _mitigation(incident, timeline)
    ever_affected = {c.get("name") for e in timeline if e.kind is TimelineKind.STATUS_PAGE
                     for c in e.data.get("components") or [] if c.get("name")}
    return Postmortem(
        incident=incident, timeline=timeline,
        actions=[Action(run=r, approvals=[a for a in approvals if a.run_id == r.id]) for r in runs],
        follow_ups=[e for e in timeline if e.kind is TimelineKind.NOTE and e.data.get("follow_up")],
        alerts=alerts, components=sorted(ever_affected), status_page_updates=state.updates,
        mitigated_at=mitigated_at, mitigated_by=mitigated_by)


async def load(store: Store, incident_id: int) -> Postmortem | None:
    async with store.connection() as conn:
        incident = await incident_rows.get(conn, incident_id)
        if incident is None:
            return None
        timeline = await incident_rows.timeline(conn, incident_id)
        runs = await incident_rows.incident_runs(conn, incident_id)
        approvals = await incident_rows.incident_approvals(conn, incident_id)
    return build(incident, timeline, runs, approvals)
