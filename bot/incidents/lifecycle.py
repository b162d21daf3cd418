"""The incident state machine as pure functions: each returns the new Incident and its timeline entries.

Callers (the alert processor, the Slack actions, later /incident) load the incident under a lock, call
one of these, and store what comes back in the same transaction.
"""

from datetime import datetime, timedelta
from typing import Any

from bot.incidents.model import Incident, IncidentStatus, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity

Outcome = tuple[Incident, list[TimelineEvent]]


def event(incident: Incident, kind: TimelineKind, at: datetime, text: str, actor: str | None = None,
          **data: Any) -> TimelineEvent:
    return TimelineEvent(incident_id=incident.id, at=at, kind=kind, actor=actor, text=text, data=data)


def human_duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = " ".join(p for p in parts if p)
    return text if text else f"{seconds}s"


def can_reopen(incident: Incident, fired_at: datetime, window: timedelta) -> bool:
    """A resolved incident comes back when its group fires again within the reopen window."""
    if incident.is_open or incident.resolved_at is None:
        return False
    return fired_at - incident.resolved_at <= window


def reopen(incident: Incident, at: datetime, reason: str, actor: str | None = None) -> Outcome:
    resolved_for = human_duration(at - incident.resolved_at) if incident.resolved_at else "a while"
    # A re-fire means the mitigation did not hold: the earlier one stays on the timeline, not on the incident.
    new = incident.changed(status=IncidentStatus.OPEN, resolved_at=None, resolved_by=None, mitigated_at=None,
                           reopened_count=incident.reopened_count + 1, updated_at=at)
    return new, [event(new, TimelineKind.REOPENED, at, f"Reopened {resolved_for} after it resolved: {reason}",
                       actor, resolved_for_s=int((at - incident.resolved_at).total_seconds())
                       if incident.resolved_at else None)]


def resolve(incident: Incident, at: datetime, actor: str | None, summary: str | None = None) -> Outcome:
    if not incident.is_open:
        return incident, []
    at = max(at, incident.opened_at)
    new = incident.changed(status=IncidentStatus.RESOLVED, resolved_at=at, resolved_by=actor,
                           summary=summary if summary is not None else incident.summary, updated_at=at)
    took = human_duration(at - incident.opened_at)
    text = f"Resolved after {took}" + (f": {summary}" if summary else "")
    return new, [event(new, TimelineKind.RESOLVED, at, text, actor,
                       duration_s=int((at - incident.opened_at).total_seconds()))]


def change_severity(incident: Incident, to: Severity, at: datetime, actor: str | None, why: str) -> Outcome:
    if to is incident.severity:
        return incident, []
    new = incident.changed(severity=to, updated_at=at)
    verb = "raised" if to.is_above(incident.severity) else "lowered"
    text = f"Severity {verb} {incident.severity} → {to}: {why}"
    return new, [event(new, TimelineKind.SEVERITY_CHANGED, at, text, actor,
                       **{"from": incident.severity.value, "to": to.value, "automatic": actor is None})]


def raise_automatically(incident: Incident, candidate: Severity | None, at: datetime, why: str) -> Outcome:
    """Alerts may only raise severity; a lower candidate never lowers it by itself."""
    if candidate is None or not candidate.is_above(incident.severity):
        return incident, []
    return change_severity(incident, candidate, at, None, why)


def acknowledge(incident: Incident, actor: str, at: datetime) -> Outcome:
    """The first acknowledgement counts (it stops nags); later ones are no-ops."""
    if incident.acknowledged_at is not None:
        return incident, []
    new = incident.changed(acknowledged_at=at, acknowledged_by=actor, updated_at=at)
    took = human_duration(at - incident.opened_at)
    return new, [event(new, TimelineKind.ACKNOWLEDGED, at, f"Acknowledged {took} after it opened", actor,
                       time_to_ack_s=int((at - incident.opened_at).total_seconds()))]


def silence(incident: Incident, actor: str, at: datetime, span: timedelta, until: datetime, silence_id: str,
            matchers: dict[str, str]) -> Outcome:
    new = incident.changed(silenced_until=until, silenced_by=actor, updated_at=at)
    shown = ", ".join(f"{k}={v}" for k, v in sorted(matchers.items()))
    return new, [event(new, TimelineKind.SILENCED, at,
                       f"Silenced in Alertmanager for {human_duration(span)} ({shown})", actor,
                       silence_id=silence_id, until=until.isoformat(), matchers=matchers)]
