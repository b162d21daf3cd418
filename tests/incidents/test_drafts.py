"""Status-page drafts from the timeline: public wording (no Slack mentions), only what happened since the last
update, follow-ups kept internal, the impact guessed from configured components."""

from datetime import UTC, datetime, timedelta

from bot.config.statuspage import StatusPageConfig
from bot.incidents.model import Incident, IncidentSource, IncidentStatus, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity
from bot.response.statuspage import draft, state_of

AT = datetime(2024, 5, 6, 3, 0, tzinfo=UTC)
PAGE = StatusPageConfig.model_validate({"components": {"checkout": "vtnh60py4yd7", "api": "8kbf7d35c070"}})


def incident(**fields: object) -> Incident:
    values: dict[str, object] = {"id": 7, "severity": Severity.P2, "title": "Checkout failing for card payments",
                                 "status": IncidentStatus.OPEN, "source": IncidentSource.DECLARED, "opened_at": AT,
                                 "updated_at": AT, **fields}
    return Incident.model_validate(values)


def event(kind: TimelineKind, text: str, minutes: int, **data: object) -> TimelineEvent:
    return TimelineEvent(incident_id=7, at=AT + timedelta(minutes=minutes), kind=kind, actor="U0JANESMTH",
                         text=text, data=data)


def test_a_first_draft_investigates_and_guesses_the_component() -> None:
    notes = [event(TimelineKind.NOTE, "<@U0JANESMTH> sees 502s from <#C0INCIDENTS> dashboards", 1, follow_up=False),
             event(TimelineKind.NOTE, "Follow-up: add an alert", 2, follow_up=True)]
    first = draft(incident(), notes, [], PAGE)
    assert first.status.value == "investigating"
    assert [(c.name, c.status.value) for c in first.components] == [("checkout", "partial_outage")]
    assert "sees 502s from dashboards" in first.message and "<@" not in first.message
    assert "add an alert" not in first.message


def test_later_drafts_keep_what_was_posted_and_tell_only_what_is_new() -> None:
    posted = event(TimelineKind.STATUS_PAGE, "Status page identified", 5, status="identified",
                   components=[{"name": "api", "status": "degraded_performance"}],
                   ref={"provider": "atlassian", "id": "inc1", "url": None})
    timeline = [event(TimelineKind.NOTE, "old news", 1, follow_up=False), posted,
                event(TimelineKind.NOTE, "new news", 6, follow_up=False)]
    state = state_of(timeline)
    assert (state.status and state.status.value, state.ref and state.ref.id, state.updates) == ("identified", "inc1", 1)
    later = draft(incident(), timeline, [], PAGE)
    assert later.status.value == "identified" and [c.name for c in later.components] == ["api"]
    assert "new news" in later.message and "old news" not in later.message

    mitigated = draft(incident(mitigated_at=AT + timedelta(minutes=7)), timeline, [], PAGE)
    assert mitigated.status.value == "monitoring"
    done = draft(incident(status=IncidentStatus.RESOLVED, resolved_at=AT + timedelta(minutes=9), summary="fixed"),
                 timeline, [], PAGE)
    assert done.status.value == "resolved" and [c.status.value for c in done.components] == ["operational"]
    assert "fixed" in done.message


def test_a_reopened_incident_investigates_again() -> None:
    resolved = event(TimelineKind.STATUS_PAGE, "Status page resolved", 5, status="resolved", components=[], ref=None)
    assert draft(incident(reopened_count=1), [resolved], [], PAGE).status.value == "investigating"
    assert state_of([resolved]).open_on_page is False
