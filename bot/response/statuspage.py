"""What the status page says about an incident (from its timeline) and the next draft to show people.

The status page's state is not kept anywhere else: every update posted (or recorded as posted by hand) is a
`status_page` timeline event carrying the status, components and the status-page incident's reference.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.config.statuspage import StatusPageConfig
from bot.incidents.model import Incident, IncidentAlert, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity
from bot.statuspage import AffectedComponent, ComponentStatus, IncidentStatus, StatusDraft, StatusRef

MENTION = re.compile(r"\s*<[@#!][^>]*>")
# What a draft's "latest" lines come from: what customers may care about, never paging or prompts.
NEWS = {TimelineKind.NOTE, TimelineKind.SEVERITY_CHANGED, TimelineKind.RUN_FINISHED, TimelineKind.ALERT_RESOLVED,
        TimelineKind.REOPENED}
LATEST_LINES = 3
STATE_KINDS = (TimelineKind.STATUS_PAGE,)  # the only events state_of reads: load just these where that is all
IMPACT = {Severity.P1: ComponentStatus.MAJOR_OUTAGE, Severity.P2: ComponentStatus.PARTIAL_OUTAGE,
          Severity.P3: ComponentStatus.DEGRADED_PERFORMANCE, Severity.P4: ComponentStatus.DEGRADED_PERFORMANCE}
LEADS = {
    IncidentStatus.INVESTIGATING: "We are investigating an issue: {title}.",
    IncidentStatus.IDENTIFIED: "The issue has been identified and a fix is being implemented: {title}.",
    IncidentStatus.MONITORING: "A fix has been implemented and we are monitoring the results: {title}.",
    IncidentStatus.RESOLVED: "This incident has been resolved: {title}.",
}


@dataclass(frozen=True)
class StatusPageState:
    """The latest update on record for an incident (nothing posted yet: `posted` is False)."""

    posted: bool = False
    status: IncidentStatus | None = None
    ref: StatusRef | None = None
    components: list[AffectedComponent] = field(default_factory=list)
    at: datetime | None = None
    manual: bool = False
    updates: int = 0

    @property
    def open_on_page(self) -> bool:
        """Something was posted and not yet resolved: the final update is still owed."""
        return self.posted and self.status is not IncidentStatus.RESOLVED


def state_of(events: list[TimelineEvent]) -> StatusPageState:
    posted = [e for e in events if e.kind is TimelineKind.STATUS_PAGE]
    if not posted:
        return StatusPageState()
    last = posted[-1]
    # The reference is the first one the page gave us: later updates go to the same status-page incident.
    ref_data = next((e.data["ref"] for e in reversed(posted) if e.data.get("ref")), None)
    return StatusPageState(
        posted=True, status=IncidentStatus(last.data.get("status", "investigating")),
        ref=StatusRef.model_validate(ref_data) if ref_data else None,
        components=[AffectedComponent.model_validate(c) for c in last.data.get("components") or []],
        at=last.at, manual=bool(last.data.get("manual")), updates=len(posted))


def public(text: str) -> str:
    """Timeline text fit for customers: no Slack mentions or links."""
    return " ".join(MENTION.sub("", text).split())


def _guess_components(incident: Incident, alerts: list[IncidentAlert], config: StatusPageConfig,
                      ) -> list[AffectedComponent]:
    """Configured components the incident names (title, or its alerts' labels), at the severity's impact."""
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9_.-]+", incident.title)}
    for alert in alerts:
        words |= {v.lower() for v in alert.labels.values()}
    if incident.alert_group is not None:
        words |= {v.lower() for v in incident.alert_group.common_labels.values()}
    status = IMPACT[incident.severity]
    return [AffectedComponent(name=name, status=status) for name in config.components if name.lower() in words]


def draft(incident: Incident, events: list[TimelineEvent], alerts: list[IncidentAlert],
          config: StatusPageConfig) -> StatusDraft:
    """The next update as the bot would word it; people edit it before it is posted."""
    state = state_of(events)
    if not incident.is_open:
        status = IncidentStatus.RESOLVED
    elif incident.mitigated_at is not None:
        status = IncidentStatus.MONITORING
    elif state.status in (None, IncidentStatus.RESOLVED):  # nothing posted yet, or reopened since
        status = IncidentStatus.INVESTIGATING
    else:
        status = state.status
    components = state.components or _guess_components(incident, alerts, config)
    if status is IncidentStatus.RESOLVED:
        components = [c.model_copy(update={"status": ComponentStatus.OPERATIONAL}) for c in components]
    # What happened since the last update (the timeline is in order of record).
    last = max((i for i, e in enumerate(events) if e.kind is TimelineKind.STATUS_PAGE), default=-1)
    news = [public(e.text) for e in events[last + 1:] if e.kind in NEWS and not e.data.get("follow_up")]
    lines = [LEADS[status].format(title=public(incident.title))]
    if not incident.is_open and incident.summary:
        lines.append(public(incident.summary))
    if news:
        lines.append("Latest:\n" + "\n".join(f"- {line}" for line in news[-LATEST_LINES:] if line))
    return StatusDraft(status=status, title=incident.title[:255] or f"Incident #{incident.id}",
                       message="\n\n".join(lines)[:25_000], components=components)
