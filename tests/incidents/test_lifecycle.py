"""The pure lifecycle steps: what a reopen clears and what it keeps."""

from datetime import UTC, datetime, timedelta

from bot.incidents import lifecycle
from bot.incidents.model import Incident, IncidentSource, IncidentStatus, TimelineKind
from bot.incidents.severity import Severity

OPENED = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def resolved_incident() -> Incident:
    return Incident(id=7, severity=Severity.P2, title="checkout failing", status=IncidentStatus.RESOLVED,
                    source=IncidentSource.ALERTMANAGER, opened_at=OPENED,
                    acknowledged_at=OPENED + timedelta(minutes=3), acknowledged_by="U0ONCALL00",
                    mitigated_at=OPENED + timedelta(minutes=20), resolved_at=OPENED + timedelta(minutes=30),
                    resolved_by=None, updated_at=OPENED + timedelta(minutes=30))


def test_reopen_clears_resolution_and_mitigation_but_keeps_the_acknowledgement() -> None:
    at = OPENED + timedelta(minutes=40)

    after, events = lifecycle.reopen(resolved_incident(), at, "HighErrorRate fired again")

    assert after.is_open and after.resolved_at is None and after.mitigated_at is None
    assert after.acknowledged_by == "U0ONCALL00" and after.reopened_count == 1
    assert [e.kind for e in events] == [TimelineKind.REOPENED]
    assert "10m after it resolved" in events[0].text
