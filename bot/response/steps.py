"""The response procedure's lifecycle steps, pure like bot.incidents.lifecycle: incident in, the new
incident and its timeline entries out. Callers lock, apply and record them through the IncidentService."""

import re
from datetime import datetime
from typing import Any

from bot.incidents.lifecycle import Outcome, event
from bot.incidents.model import Incident, TimelineKind

FOLLOW_UP = re.compile(r"^\s*(?:follow[- ]?up|todo|action)\s*[:\-]\s*", re.IGNORECASE)


def set_commander(incident: Incident, commander: str, at: datetime, actor: str) -> Outcome:
    if incident.commander == commander:
        return incident, []
    new = incident.changed(commander=commander, updated_at=at)
    before = f" (was <@{incident.commander}>)" if incident.commander else ""
    return new, [event(new, TimelineKind.COMMANDER_SET, at, f"<@{commander}> is the incident commander{before}",
                       actor, commander=commander, previous=incident.commander)]


def note(incident: Incident, text: str, at: datetime, actor: str) -> Outcome:
    """A note; one starting `follow-up:` (or `todo:`, `action:`) is a postmortem follow-up."""
    follow_up = bool(FOLLOW_UP.match(text))
    body = FOLLOW_UP.sub("", text, count=1).strip() if follow_up else text.strip()
    shown = f"Follow-up: {body}" if follow_up else body
    return incident.changed(updated_at=max(at, incident.updated_at)), [
        event(incident, TimelineKind.NOTE, at, shown, actor, follow_up=follow_up, note=body)]


def reminder(incident: Incident, at: datetime, what: str, text: str, **data: Any) -> Outcome:
    """A prompt the procedure posted (diagnosis, resolution, status page): on the record, by nobody."""
    return incident, [event(incident, TimelineKind.REMINDER, at, text, None, prompt=what, **data)]


def escalated(incident: Incident, at: datetime, paged: list[str], level: int, text: str) -> Outcome:
    return incident, [event(incident, TimelineKind.ESCALATED, at, text, None, paged=paged, level=level)]


def diagnostics(incident: Incident, at: datetime, summary: str, results: list[dict[str, Any]]) -> Outcome:
    return incident, [event(incident, TimelineKind.DIAGNOSTICS, at, summary, None, results=results)]


def checklist(incident: Incident, at: datetime, item: str, label: str, actor: str) -> Outcome:
    return incident, [event(incident, TimelineKind.CHECKLIST, at, f"Communication: {label}", actor, item=item)]


def status_page(incident: Incident, at: datetime, actor: str | None, status: str, text: str, data: dict[str, Any],
                mitigates: bool) -> Outcome:
    """A status-page update posted (or recorded as posted by hand); `monitoring` means mitigated."""
    new = incident
    if mitigates and incident.mitigated_at is None:
        new = incident.changed(mitigated_at=at, updated_at=at)
    return new, [event(new, TimelineKind.STATUS_PAGE, at, text, actor, status=status, **data)]
