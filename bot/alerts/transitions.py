"""What a notification changes for each alert, given what the incident already reflects.

An alert's states are ordered by (startsAt, resolved after firing). A state that is not newer than the
reflected one changes nothing: that is how a late retry of an old firing notification, arriving after
the resolve, is told apart from a real re-fire (which has a later startsAt).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.alerts.payload import Alert, AlertStatus, Notification
from bot.store.alerts import AlertRow


class Change(StrEnum):
    FIRED = "fired"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Transition:
    change: Change
    fingerprint: str
    name: str
    labels: dict[str, str]
    at: datetime


def _order(status: str | None, starts_at: datetime | None) -> tuple[datetime, int] | None:
    if status is None or starts_at is None:
        return None
    return starts_at, 1 if status == AlertStatus.RESOLVED else 0


def _transitions(alert: Alert, row: AlertRow) -> list[Transition]:
    seen = _order(row.status, row.starts_at)
    if seen is not None and alert.order <= seen:
        return []  # stale or repeated
    fired = Transition(Change.FIRED, alert.fingerprint, alert.name, alert.labels, alert.starts_at)
    resolved = Transition(Change.RESOLVED, alert.fingerprint, alert.name, alert.labels,
                          alert.ends_at or alert.starts_at)
    was_firing = row.status == AlertStatus.FIRING
    if alert.status is AlertStatus.FIRING:
        # Firing again with a later startsAt while we still show it firing: the resolve in between
        # never reached us, and the alert is firing either way.
        return [] if was_firing else [fired]
    if was_firing:
        return [resolved]
    return [fired, resolved]  # fired and resolved before we heard of it


def advance(rows: dict[str, AlertRow], note: Notification, now: datetime) -> tuple[list[Transition], set[str]]:
    """Apply a notification to the reflected state in `rows` (in place); the transitions and touched rows."""
    out: list[Transition] = []
    touched: set[str] = set()
    listed: set[str] = set()
    for alert in note.latest_alerts():
        listed.add(alert.fingerprint)
        row = rows.get(alert.fingerprint)
        if row is None:  # an alert we hear of for the first time
            row = rows[alert.fingerprint] = AlertRow(alert.fingerprint, alert.labels, alert.annotations,
                                                     alert.generator_url, None, None, None, None, None)
        found = _transitions(alert, row)
        if not found:
            continue
        out += found
        touched.add(alert.fingerprint)
        row.labels, row.annotations, row.generator_url = alert.labels, alert.annotations, alert.generator_url
        row.status = alert.status.value
        row.starts_at = alert.starts_at
        row.ends_at = alert.ends_at if alert.status is AlertStatus.RESOLVED else None
    if note.status is AlertStatus.RESOLVED and note.truncated_alerts > 0:
        # The group is resolved as a whole, including alerts Alertmanager left out of this payload.
        for fp, row in rows.items():
            if fp not in listed and row.status == AlertStatus.FIRING:
                out.append(Transition(Change.RESOLVED, fp, row.labels.get("alertname", fp), row.labels, now))
                row.status, row.ends_at = AlertStatus.RESOLVED.value, now
                touched.add(fp)
    return out, touched
