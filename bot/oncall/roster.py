"""Who in the escalation matrix is reachable at a given moment, and why; the escalation chain."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.escalation import AckTimeouts, Availability, Contact, EscalationConfig
from bot.oncall import schedule


def zone_label(moment: datetime) -> str:
    """`ICT`-style abbreviation where the tz database has one, else `UTC+07`."""
    name = moment.tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" else name


def clock_label(moment: datetime) -> str:
    return f"{moment:%a %H:%M} {zone_label(moment)}"


def when_label(moment: datetime, now: datetime) -> str:
    """A nearby moment as people say it: `18:00`, `Mon 09:00`, `Mon 13 Jan 09:00`."""
    if moment.date() == now.date():
        return f"{moment:%H:%M}"
    if moment - now < timedelta(days=6):
        return f"{moment:%a %H:%M}"
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


@dataclass(frozen=True)
class Reach:
    contact: Contact
    reachable: bool
    why: str
    until: datetime | None = None  # reachable: when that ends (None: no end in sight)
    back_at: datetime | None = None  # not reachable: when they next are (None: not known)


@dataclass(frozen=True)
class OncallStatus:
    at: datetime  # local time in the configured zone
    zone: ZoneInfo
    people: list[Reach]  # matrix order
    ack_timeouts: AckTimeouts

    @property
    def reachable(self) -> list[Reach]:
        return [reach for reach in self.people if reach.reachable]

    @property
    def unreachable(self) -> list[Reach]:
        return [reach for reach in self.people if not reach.reachable]

    @property
    def chain(self) -> list[Contact]:
        """Whom to page, in escalation order: the reachable people, as the matrix orders them."""
        return [reach.contact for reach in self.reachable]


def _business_hours(config: EscalationConfig, contact: Contact, now: datetime) -> Reach:
    hours = config.business_hours
    if schedule.in_business_hours(hours, now):
        return Reach(contact, True, f"business hours ({clock_label(now)})", until=schedule.closing(hours, now))
    reason = "public holiday" if now.date() in hours.holidays else "outside business hours"
    return Reach(contact, False, f"{reason} ({clock_label(now)})", back_at=schedule.next_opening(hours, now))


def _on_call(config: EscalationConfig, contact: Contact, now: datetime) -> Reach:
    on_call = config.on_call
    shift = schedule.pager(on_call, now)
    if shift is None:
        return Reach(contact, True, "on-call (no rotation configured: every on-call person counts)")
    if shift.slack_id == contact.slack_id:
        if shift.override:
            why = f"on-call (covering until {when_label(shift.end, now)})"
        elif on_call.rotation is not None and on_call.rotation.shift_days == 7:
            why = f"on-call this week (until {when_label(shift.end, now)})"
        else:
            why = f"on-call (shift until {when_label(shift.end, now)})"
        return Reach(contact, True, why, until=shift.end)
    holder = next((c.name for c in config.matrix if c.slack_id == shift.slack_id), shift.slack_id)
    back = schedule.next_pager_start(on_call, contact.slack_id, now)
    rotation = on_call.rotation
    if shift.override and rotation is not None and schedule.rotation_shift(rotation, now).slack_id == contact.slack_id:
        back = min(shift.end, back) if back else shift.end  # their own shift resumes when the cover ends
    if rotation is not None and contact.slack_id not in rotation.members and back is None:
        return Reach(contact, False, f"not in the on-call rotation ({holder} is on call)")
    return Reach(contact, False, f"off call ({holder} is on call until {when_label(shift.end, now)})", back_at=back)


def reachable_at(config: EscalationConfig, zone: ZoneInfo, at: datetime) -> OncallStatus:
    """Everyone in the matrix at `at` (aware), reachable or not, with the reason."""
    now = schedule.local(at, zone)
    people = []
    for contact in config.matrix:
        if contact.availability is Availability.ALWAYS:
            people.append(Reach(contact, True, "24/7"))
        elif contact.availability is Availability.BUSINESS_HOURS:
            people.append(_business_hours(config, contact, now))
        else:
            people.append(_on_call(config, contact, now))
    return OncallStatus(at=now, zone=zone, people=people, ack_timeouts=config.ack_timeout_minutes)
