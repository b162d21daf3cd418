"""Block Kit for incident headers (edited in place) and thread replies, with slack_sdk models."""

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.incidents.lifecycle import human_duration
from bot.incidents.model import Incident, IncidentAlert, IncidentSource, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity
from bot.slack.blocks import clip

ACK = "incident_ack"
SET_SEVERITY = "incident_set_severity"
SILENCE = "incident_silence"

HEADER_LIMIT = 150
ALERTS_SHOWN = 10
LINES_PER_REPLY = 20

SEVERITY_ICON = {Severity.P1: ":red_circle:", Severity.P2: ":large_orange_circle:",
                 Severity.P3: ":large_yellow_circle:", Severity.P4: ":white_circle:"}
EVENT_ICON = {
    TimelineKind.OPENED: ":rotating_light:", TimelineKind.ALERT_FIRED: ":fire:",
    TimelineKind.ALERT_RESOLVED: ":white_check_mark:", TimelineKind.SEVERITY_CHANGED: ":arrow_up_down:",
    TimelineKind.ACKNOWLEDGED: ":eyes:", TimelineKind.SILENCED: ":no_bell:", TimelineKind.RESOLVED: ":tada:",
    TimelineKind.REOPENED: ":repeat:",
}


@dataclass(frozen=True)
class HeaderView:
    """What rendering needs from the configuration."""

    zone: ZoneInfo
    key_labels: list[str] = field(default_factory=list)
    dashboards: dict[str, str] = field(default_factory=dict)
    silence_for: timedelta = timedelta(hours=1)
    alertmanager_url: str | None = None  # overrides the payload's externalURL for links


def escape(text: str) -> str:
    """Slack mrkdwn control characters, so label values never become links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%d %b %H:%M %Z")


def _link(url: str, label: str) -> str:
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{escape(label)}>"


def _promql_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def silence_url(base: str, labels: dict[str, str]) -> str:
    """Alertmanager's new-silence page prefilled with matchers for these labels."""
    # Label values are PromQL strings there: a quote or backslash in one must not end it early.
    matchers = ",".join(f'{k}="{_promql_string(v)}"' for k, v in sorted(labels.items()))
    return f"{base.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def _labels(labels: dict[str, str], skip: tuple[str, ...] = ("alertname",)) -> str:
    return ", ".join(f"{k}={escape(v)}" for k, v in sorted(labels.items()) if k not in skip)


def _status_line(incident: Incident, view: HeaderView) -> str:
    if incident.is_open:
        if incident.source is IncidentSource.DECLARED:
            who = f" by <@{incident.declared_by}>" if incident.declared_by else ""
            line = f":rotating_light: *Open* since {_when(incident.opened_at, view.zone)}, declared{who}"
        else:
            line = f":fire: *Firing* since {_when(incident.opened_at, view.zone)}"
        if incident.reopened_count:
            line += f" · reopened {incident.reopened_count}×"
        return line
    took = human_duration(incident.duration) if incident.duration is not None else "?"
    at = _when(incident.resolved_at or incident.opened_at, view.zone)
    return f":white_check_mark: *Resolved* after {took} ({at})"


def _links(incident: Incident, alerts: list[IncidentAlert], view: HeaderView) -> list[str]:
    group = incident.alert_group
    links: list[str] = []
    generator = next((a.generator_url for a in alerts if a.firing and a.generator_url), "") or next(
        (a.generator_url for a in alerts if a.generator_url), "")
    if generator:
        links.append(_link(generator, "Prometheus graph"))
    base = view.alertmanager_url or (group.external_url if group else "")
    if group is not None and base:
        links.append(_link(silence_url(base, group.identity_labels), "Silence in Alertmanager"))
    annotations: dict[str, str] = dict(group.common_annotations) if group else {}
    for alert in alerts:
        annotations = {**alert.annotations, **annotations}
    runbook_url = annotations.get("runbook_url", "")
    runbook = annotations.get("runbook", "")
    if runbook_url.startswith(("http://", "https://")):
        links.append(_link(runbook_url, "Runbook"))
    if runbook.startswith(("http://", "https://")):
        links.append(_link(runbook, "Runbook"))
    elif runbook:
        links.append(f"Runbook `{escape(runbook)}`")
    links += [_link(url, f"Grafana: {name}") for name, url in view.dashboards.items()]
    return links


def header_text(incident: Incident, alerts: list[IncidentAlert]) -> str:
    """Notification fallback text for the header."""
    firing = sum(a.firing for a in alerts)
    state = "firing" if incident.is_open else "resolved"
    counts = f"{firing} firing, {len(alerts) - firing} resolved"
    return f"{incident.severity} #{incident.id} {state}: {incident.title} ({counts})"


def header(incident: Incident, alerts: list[IncidentAlert], view: HeaderView) -> list[dict[str, Any]]:
    """The header's blocks, ready to send; buttons only while the incident is open."""
    blocks = to_dicts(header_blocks(incident, alerts, view))
    if incident.is_open:
        group = incident.alert_group
        silence = (_labels(group.identity_labels, skip=()) or "the group") if group is not None else None
        blocks.append(_actions(incident.id, incident.severity, incident.acknowledged_at is None, silence,
                               human_duration(view.silence_for)))
    return blocks


def header_blocks(incident: Incident, alerts: list[IncidentAlert], view: HeaderView) -> list[Block]:
    """Everything but the buttons (see `header`)."""
    icon = SEVERITY_ICON[incident.severity] if incident.is_open else ":white_check_mark:"
    title = f"{incident.severity} #{incident.id} · {incident.title}"
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=clip(title, HEADER_LIMIT), emoji=True))]
    firing = [a for a in alerts if a.firing]
    resolved = [a for a in alerts if not a.firing]
    fields = [
        MarkdownTextObject(text=_status_line(incident, view)),
        MarkdownTextObject(text=f"{icon} *{incident.severity}* {escape(incident.severity.description)}"),
        MarkdownTextObject(text=f"*Alerts:* {len(firing)} firing · {len(resolved)} resolved" if alerts
                           else "*Alerts:* none (declared by hand)"),
        MarkdownTextObject(text=f"*Acknowledged:* <@{incident.acknowledged_by}> "
                                f"{_when(incident.acknowledged_at, view.zone)}"
                           if incident.acknowledged_by and incident.acknowledged_at else "*Acknowledged:* not yet"),
    ]
    if incident.silenced_until is not None and incident.silenced_by:
        fields.append(MarkdownTextObject(text=f"*Silenced:* until {_when(incident.silenced_until, view.zone)}"
                                              f" by <@{incident.silenced_by}>"))
    blocks.append(SectionBlock(block_id=f"incident:{incident.id}:status", fields=fields))

    group = incident.alert_group
    key: dict[str, str] = {}
    if group is not None:
        key = {k: v for k, v in {**group.common_labels, **group.group_labels}.items()
               if k in view.key_labels or k in group.group_labels}
        if key:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(_labels(key, skip=())))]))
    # Each alert line shows the labels not already on the key-labels line.
    skip = ("alertname", *key)
    lines = [_alert_line(":fire:", f"*{escape(a.name)}*", _labels(a.labels, skip),
                         f"since {_when(a.starts_at, view.zone)}") for a in firing[:ALERTS_SHOWN]]
    lines += [_alert_line(":white_check_mark:", f"~{escape(a.name)}~", _labels(a.labels, skip),
                          f"resolved {_when(a.ends_at or a.starts_at, view.zone)}")
              for a in resolved[: max(0, ALERTS_SHOWN - len(lines))]]
    hidden = len(alerts) - len(lines)
    if hidden > 0:
        lines.append(f"_…and {hidden} more_")
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines)))))
    if group is not None and group.truncated_alerts > 0:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f":warning: Alertmanager truncated this notification: {group.truncated_alerts} more alerts"
                 " not shown (truncatedAlerts)")]))
    links = _links(incident, alerts, view)
    if links:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(links)))]))
    return blocks


def _alert_line(icon: str, name: str, labels: str, when: str) -> str:
    return " ".join(p for p in (icon, name, labels) if p) + f" — {when}"


def _severity_option(severity: Severity) -> Option:
    return Option(value=severity.value, text=PlainTextObject(text=f"{severity.value} — {severity.description}"[:75]))


@functools.lru_cache(maxsize=2048)
def _actions(incident_id: int, severity: Severity, can_ack: bool, silence: str | None, span: str) -> dict[str, Any]:
    """The buttons; cached because a storm re-renders headers whose buttons have not changed."""
    value = str(incident_id)
    elements: list[ButtonElement | StaticSelectElement] = []
    if can_ack:
        elements.append(ButtonElement(text=PlainTextObject(text="Acknowledge"), action_id=ACK, value=value,
                                      style="primary"))
    elements.append(StaticSelectElement(
        action_id=SET_SEVERITY, placeholder=PlainTextObject(text="Set severity"),
        options=[_severity_option(s) for s in Severity], initial_option=_severity_option(severity)))
    if silence is not None:
        elements.append(ButtonElement(
            text=PlainTextObject(text=f"Silence {span}"), action_id=SILENCE, value=value, style="danger",
            confirm=ConfirmObject(
                title=PlainTextObject(text=f"Silence for {span}?"),
                text=MarkdownTextObject(text=clip(
                    f"Creates a silence in Alertmanager for {span} matching {silence}."
                    " Notifications for these alerts stop until it expires.", 300)),
                confirm=PlainTextObject(text=f"Silence {span}"), deny=PlainTextObject(text="Cancel"),
                style="danger")))
    block: dict[str, Any] = ActionsBlock(block_id=f"incident:{incident_id}", elements=elements).to_dict()
    return block


def event_line(e: TimelineEvent, zone: ZoneInfo) -> str:
    icon = EVENT_ICON.get(e.kind, ":small_blue_diamond:")
    who = f" — <@{e.actor}>" if e.actor and e.actor.startswith(("U", "W")) else ""
    text = escape(e.text)
    if e.kind is TimelineKind.RESOLVED:
        text = f"*{text}*"
    return f"{icon} {text}{who} _{_when(e.at, zone)}_"


def reply(events: list[TimelineEvent], zone: ZoneInfo) -> tuple[str, list[Block]]:
    """One thread reply telling what changed; long bursts are summarised."""
    lines = [event_line(e, zone) for e in events]
    if len(lines) > LINES_PER_REPLY:
        lines = [*lines[: LINES_PER_REPLY - 1], f"_…and {len(lines) - LINES_PER_REPLY + 1} more changes_"]
    text = clip("\n".join(lines))
    plain = "; ".join(e.text for e in events)
    return clip(plain, 3000), [SectionBlock(text=MarkdownTextObject(text=text))]


def moved(incident: Incident, to_channel: str) -> tuple[str, list[Block]]:
    """The old header once the thread moved (severity raised to the incidents channel)."""
    text = (f":arrow_right: *{incident.severity} #{incident.id} · {escape(incident.title)}* moved to <#{to_channel}>"
            f" when its severity was raised. This thread is no longer updated.")
    return f"{incident.severity} #{incident.id} moved to the incidents channel", [
        SectionBlock(text=MarkdownTextObject(text=clip(text)))]


def to_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]
