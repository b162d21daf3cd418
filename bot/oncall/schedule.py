"""Calendar arithmetic for availability: business hours, rotation shifts, overrides, in one time zone.

Shifts are counted in wall-clock time, so a hand-off stays at 09:00 local across DST changes.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config.escalation import WEEKDAYS, BusinessHours, OnCall, Override, Rotation

SEARCH_DAYS = 400  # a year of holidays and weekends is the longest anyone is away


def local(at: datetime, zone: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ValueError("an aware datetime is needed (who is reachable depends on the time zone)")
    return at.astimezone(zone)


def at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def aware(moment: datetime, zone: ZoneInfo) -> datetime:
    """Config datetimes without an offset are in the configuration's time zone."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def is_business_day(hours: BusinessHours, day: date) -> bool:
    return WEEKDAYS[day.weekday()] in hours.days and day not in hours.holidays


def in_business_hours(hours: BusinessHours, now: datetime) -> bool:
    return is_business_day(hours, now.date()) and hours.start <= now.time() < hours.end


def next_opening(hours: BusinessHours, now: datetime) -> datetime | None:
    """The next start of business hours after `now` (local)."""
    for offset in range(SEARCH_DAYS):
        day = now.date() + timedelta(days=offset)
        opening = at_local(day, hours.start, now.tzinfo)  # type: ignore[arg-type]
        if opening > now and is_business_day(hours, day):
            return opening
    return None


def closing(hours: BusinessHours, now: datetime) -> datetime:
    return at_local(now.date(), hours.end, now.tzinfo)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Shift:
    slack_id: str
    start: datetime
    end: datetime
    override: bool = False


def rotation_shift(rotation: Rotation, now: datetime) -> Shift:
    """The rotation's shift holding `now` (local); before `rotation.start` the rotation runs backwards."""
    zone = now.tzinfo
    anchor = datetime.combine(rotation.start, rotation.handoff)
    period = timedelta(days=rotation.shift_days)
    index = (now.replace(tzinfo=None) - anchor) // period
    start = anchor + index * period
    member = rotation.members[index % len(rotation.members)]
    return Shift(member, start.replace(tzinfo=zone), (start + period).replace(tzinfo=zone))


def next_rotation_shift(rotation: Rotation, slack_id: str, now: datetime) -> datetime | None:
    """When `slack_id`'s next rotation shift starts, after the current one."""
    current = rotation_shift(rotation, now)
    period = timedelta(days=rotation.shift_days)
    naive = current.start.replace(tzinfo=None)
    for ahead in range(1, len(rotation.members) + 1):
        start = (naive + ahead * period).replace(tzinfo=now.tzinfo)
        if rotation_shift(rotation, start).slack_id == slack_id:
            return start
    return None


def active_override(overrides: list[Override], now: datetime) -> Override | None:
    zone: ZoneInfo = now.tzinfo  # type: ignore[assignment]
    covering = [o for o in overrides if aware(o.start, zone) <= now < aware(o.end, zone)]
    return max(covering, key=lambda o: aware(o.start, zone), default=None)


def pager(on_call: OnCall, now: datetime) -> Shift | None:
    """Who holds the pager at `now` (local): an override, else the rotation; None without a rotation."""
    if on_call.rotation is None:
        return None
    override = active_override(on_call.overrides, now)
    if override is not None:
        zone: ZoneInfo = now.tzinfo  # type: ignore[assignment]
        return Shift(override.slack_id, aware(override.start, zone), aware(override.end, zone), override=True)
    return rotation_shift(on_call.rotation, now)


def next_pager_start(on_call: OnCall, slack_id: str, now: datetime) -> datetime | None:
    """When `slack_id` next holds the pager: their next rotation shift or override, whichever is first."""
    zone: ZoneInfo = now.tzinfo  # type: ignore[assignment]
    starts = [aware(o.start, zone) for o in on_call.overrides if o.slack_id == slack_id and aware(o.start, zone) > now]
    if on_call.rotation is not None:
        shift = next_rotation_shift(on_call.rotation, slack_id, now)
        if shift is not None:
            starts.append(shift)
    return min(starts, default=None)
