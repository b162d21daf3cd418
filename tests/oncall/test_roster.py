"""Who in the escalation matrix is reachable, by time of day and week, and why (explicit clock times)."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config.escalation import EscalationConfig
from bot.oncall.roster import OncallStatus, reachable_at

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
JOHN, JANE, BOB, ALICE, CAROL = "U0JOHNDOE0", "U0JANESMTH", "U0BOBWILSN", "U0ALICEBRN", "U0CAROLDBA"

RUNBOOK_MATRIX = [
    {"role": "Lead DevOps", "name": "John Doe", "slack_id": JOHN, "availability": "24/7"},
    {"role": "Backend Lead", "name": "Jane Smith", "slack_id": JANE, "availability": "business-hours"},
    {"role": "Database Admin", "name": "Bob Wilson", "slack_id": BOB, "availability": "on-call"},
    {"role": "Security Lead", "name": "Alice Brown", "slack_id": ALICE, "availability": "business-hours"},
]
CAROL_ENTRY = {"role": "Database Admin", "name": "Carol Tran", "slack_id": CAROL, "availability": "on-call"}
# Bob's shifts start on Mondays 09:00 from 6 Jan 2025, Carol's the week after, and so on.
ROTATION = {"members": [BOB, CAROL], "start": "2025-01-06", "handoff": "09:00"}


def escalation(**overrides: Any) -> EscalationConfig:
    return EscalationConfig.model_validate({"matrix": RUNBOOK_MATRIX, **overrides})


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Ho Chi Minh City."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def why(status: OncallStatus) -> dict[str, tuple[bool, str]]:
    return {reach.contact.name: (reach.reachable, reach.why) for reach in status.people}


def test_weekday_business_hours_everyone_but_off_call_people() -> None:
    status = reachable_at(escalation(), ZONE, vn(2025, 1, 13, 10, 12))  # Monday

    assert why(status) == {
        "John Doe": (True, "24/7"),
        "Jane Smith": (True, "business hours (Mon 10:12 UTC+07)"),
        "Bob Wilson": (True, "on-call (no rotation configured: every on-call person counts)"),
        "Alice Brown": (True, "business hours (Mon 10:12 UTC+07)"),
    }
    assert [c.name for c in status.chain] == ["John Doe", "Jane Smith", "Bob Wilson", "Alice Brown"]
    assert status.reachable[1].until == vn(2025, 1, 13, 18, 0)


def test_the_clock_may_be_in_any_zone() -> None:
    status = reachable_at(escalation(), ZONE, datetime(2025, 1, 13, 3, 12, tzinfo=UTC))  # 10:12 in Vietnam

    assert status.at == vn(2025, 1, 13, 10, 12)
    assert why(status)["Jane Smith"] == (True, "business hours (Mon 10:12 UTC+07)")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        reachable_at(escalation(), ZONE, datetime(2025, 1, 13, 10, 12))


@pytest.mark.parametrize(("at", "reachable", "label", "back"), [
    (vn(2025, 1, 13, 8, 59), False, "outside business hours (Mon 08:59 UTC+07)", vn(2025, 1, 13, 9, 0)),
    (vn(2025, 1, 13, 9, 0), True, "business hours (Mon 09:00 UTC+07)", None),
    (vn(2025, 1, 13, 17, 59), True, "business hours (Mon 17:59 UTC+07)", None),
    (vn(2025, 1, 13, 18, 0), False, "outside business hours (Mon 18:00 UTC+07)", vn(2025, 1, 14, 9, 0)),
    (vn(2025, 1, 17, 19, 30), False, "outside business hours (Fri 19:30 UTC+07)", vn(2025, 1, 20, 9, 0)),
    (vn(2025, 1, 18, 11, 0), False, "outside business hours (Sat 11:00 UTC+07)", vn(2025, 1, 20, 9, 0)),
    (vn(2025, 1, 19, 23, 59), False, "outside business hours (Sun 23:59 UTC+07)", vn(2025, 1, 20, 9, 0)),
])
def test_business_hours_by_time_of_day_and_week(at: datetime, reachable: bool, label: str,
                                                back: datetime | None) -> None:
    jane = reachable_at(escalation(), ZONE, at).people[1]

    assert (jane.reachable, jane.why, jane.back_at) == (reachable, label, back)
    john = reachable_at(escalation(), ZONE, at).people[0]
    assert (john.reachable, john.why) == (True, "24/7")


def test_public_holidays_close_business_hours() -> None:
    config = escalation(business_hours={"holidays": ["2025-04-30", "2025-05-01"]})

    jane = reachable_at(config, ZONE, vn(2025, 4, 30, 10, 0)).people[1]  # a Wednesday

    assert (jane.reachable, jane.why) == (False, "public holiday (Wed 10:00 UTC+07)")
    assert jane.back_at == vn(2025, 5, 2, 9, 0)


def test_business_hours_are_configurable() -> None:
    config = escalation(business_hours={"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                        "start": "08:00", "end": "17:30"})

    assert why(reachable_at(config, ZONE, vn(2025, 1, 18, 8, 0)))["Jane Smith"] == \
        (True, "business hours (Sat 08:00 UTC+07)")
    assert why(reachable_at(config, ZONE, vn(2025, 1, 18, 17, 30)))["Jane Smith"][0] is False
    assert reachable_at(config, ZONE, vn(2025, 1, 18, 17, 30)).people[1].back_at == vn(2025, 1, 20, 8, 0)


def test_weekly_rotation_hands_over_on_monday_morning() -> None:
    config = escalation(matrix=[*RUNBOOK_MATRIX, CAROL_ENTRY], on_call={"rotation": ROTATION})

    wednesday = reachable_at(config, ZONE, vn(2025, 1, 8, 3, 0))
    assert why(wednesday)["Bob Wilson"] == (True, "on-call this week (until Mon 09:00)")
    assert why(wednesday)["Carol Tran"] == (False, "off call (Bob Wilson is on call until Mon 09:00)")
    assert wednesday.people[4].back_at == vn(2025, 1, 13, 9, 0)
    assert [c.name for c in wednesday.chain] == ["John Doe", "Bob Wilson"]  # 03:00: no business hours

    before = reachable_at(config, ZONE, vn(2025, 1, 13, 8, 59))
    after = reachable_at(config, ZONE, vn(2025, 1, 13, 9, 0))
    assert [r.contact.name for r in before.reachable if r.contact.role == "Database Admin"] == ["Bob Wilson"]
    assert [r.contact.name for r in after.reachable if r.contact.role == "Database Admin"] == ["Carol Tran"]
    assert why(after)["Carol Tran"] == (True, "on-call this week (until Mon 20 Jan 09:00)")
    assert after.people[4].until == vn(2025, 1, 20, 9, 0)

    three_weeks_on = reachable_at(config, ZONE, vn(2025, 1, 29, 12, 0))
    assert why(three_weeks_on)["Carol Tran"][0] is True  # weeks 0, 2 Bob; 1, 3 Carol


def test_rotation_extends_backwards_before_its_start_date() -> None:
    config = escalation(matrix=[*RUNBOOK_MATRIX, CAROL_ENTRY], on_call={"rotation": ROTATION})

    status = reachable_at(config, ZONE, vn(2025, 1, 1, 12, 0))  # the week before 6 Jan: Carol's

    assert why(status)["Carol Tran"][0] is True and why(status)["Bob Wilson"][0] is False


def test_daily_shifts_say_when_the_shift_ends() -> None:
    config = escalation(matrix=[*RUNBOOK_MATRIX, CAROL_ENTRY],
                        on_call={"rotation": {**ROTATION, "shift_days": 1, "handoff": "20:00"}})

    status = reachable_at(config, ZONE, vn(2025, 1, 7, 21, 0))  # day 1 from 6 Jan 20:00: Carol's

    assert why(status)["Carol Tran"] == (True, "on-call (shift until Wed 20:00)")
    assert status.people[2].back_at == vn(2025, 1, 8, 20, 0)


def test_an_override_covers_the_pager_and_the_owner_gets_it_back() -> None:
    cover = {"slack_id": CAROL, "start": "2025-01-10 18:00", "end": "2025-01-12 09:00"}
    config = escalation(matrix=[*RUNBOOK_MATRIX, CAROL_ENTRY], on_call={"rotation": ROTATION, "overrides": [cover]})

    saturday = reachable_at(config, ZONE, vn(2025, 1, 11, 10, 0))  # Bob's week, Carol covering

    assert why(saturday)["Carol Tran"] == (True, "on-call (covering until Sun 09:00)")
    assert why(saturday)["Bob Wilson"] == (False, "off call (Carol Tran is on call until Sun 09:00)")
    assert saturday.people[2].back_at == vn(2025, 1, 12, 9, 0)
    sunday = reachable_at(config, ZONE, vn(2025, 1, 12, 9, 0))
    assert why(sunday)["Bob Wilson"][0] is True and why(sunday)["Carol Tran"][0] is False


def test_on_call_person_outside_the_rotation_is_reachable_only_when_covering() -> None:
    matrix = [*RUNBOOK_MATRIX, CAROL_ENTRY]
    config = escalation(matrix=matrix, on_call={"rotation": {**ROTATION, "members": [BOB]}})

    status = reachable_at(config, ZONE, vn(2025, 1, 8, 12, 0))

    assert why(status)["Carol Tran"] == (False, "not in the on-call rotation (Bob Wilson is on call)")
    assert status.people[4].back_at is None


def test_nobody_reachable_at_night_without_24_7_people() -> None:
    matrix = [entry for entry in RUNBOOK_MATRIX if entry["availability"] == "business-hours"]

    status = reachable_at(escalation(matrix=matrix), ZONE, vn(2025, 1, 19, 3, 0))

    assert status.chain == []
    assert {r.back_at for r in status.unreachable} == {vn(2025, 1, 20, 9, 0)}


def test_ack_timeouts_per_severity() -> None:
    timeouts = escalation().ack_timeout_minutes
    assert [timeouts.for_severity(s) for s in ("P1", "P2", "P3", "P4", "p1")] == [
        timedelta(minutes=5), timedelta(minutes=15), None, None, timedelta(minutes=5)]
    custom = escalation(ack_timeout_minutes={"P2": 10, "P3": 60}).ack_timeout_minutes
    assert [custom.for_severity(s) for s in ("P1", "P2", "P3")] == [
        timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=60)]


def test_defaults_are_the_runbooks_office_week() -> None:
    config = EscalationConfig()
    assert config.matrix == []
    hours = config.business_hours
    assert (hours.days, hours.start, hours.end) == (["mon", "tue", "wed", "thu", "fri"], time(9), time(18))
    assert (config.ack_timeout_minutes.P1, config.ack_timeout_minutes.P2) == (5, 15)
    assert config.on_call.rotation is None
    assert date(2025, 1, 1) not in hours.holidays
