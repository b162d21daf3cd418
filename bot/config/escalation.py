"""The `escalation:` section: the runbook's escalation matrix, when each person is reachable, ack timeouts.

Times without an offset (business hours, rotation hand-offs, overrides) are wall-clock times in the
configuration's `timezone`.
"""

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, StringConstraints, model_validator

UserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{6,}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_time(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 18:00 as the base-60 integer 1080; take it back to the time it was.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Availability(StrEnum):
    ALWAYS = "24/7"
    BUSINESS_HOURS = "business-hours"
    ON_CALL = "on-call"


class Contact(Strict):
    """A row of the runbook's escalation matrix; the matrix order is the escalation order."""

    role: str = Field(min_length=1)
    name: str = Field(min_length=1)
    slack_id: UserId
    availability: Availability


class BusinessHours(Strict):
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    start: ClockTime = time(9, 0)
    end: ClockTime = time(18, 0)
    holidays: list[date] = Field(default_factory=list, description="dates with no business hours")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError(f"business_hours: start ({self.start:%H:%M}) must be before end ({self.end:%H:%M})")
        return self


class Rotation(Strict):
    """Who of the on-call people holds the pager: shifts of `shift_days`, handed over at `handoff`."""

    members: list[UserId] = Field(min_length=1)
    start: date = Field(description="the day members[0] began a shift (any past shift start will do)")
    handoff: ClockTime = time(9, 0)
    shift_days: PositiveInt = 7


class Override(Strict):
    """Someone covers the pager for a while (leave, swaps); wins over the rotation."""

    slack_id: UserId
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError(f"override for {self.slack_id}: start must be before end")
        return self


class OnCall(Strict):
    rotation: Rotation | None = None
    overrides: list[Override] = Field(default_factory=list)

    @model_validator(mode="after")
    def _overrides_need_rotation(self) -> Self:
        if self.overrides and self.rotation is None:
            raise ValueError("on_call.overrides replace the rotation's person: configure on_call.rotation too")
        return self


class AckTimeouts(Strict):
    """Minutes without an acknowledgement before escalating to the next person; unset: no escalation."""

    P1: PositiveInt | None = 5
    P2: PositiveInt | None = 15
    P3: PositiveInt | None = None
    P4: PositiveInt | None = None

    def for_severity(self, severity: str) -> timedelta | None:
        minutes: int | None = getattr(self, severity.upper(), None)
        return timedelta(minutes=minutes) if minutes else None


class EscalationConfig(Strict):
    matrix: list[Contact] = Field(default_factory=list)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    on_call: OnCall = Field(default_factory=OnCall)
    ack_timeout_minutes: AckTimeouts = Field(default_factory=AckTimeouts)

    @model_validator(mode="after")
    def _on_call_people_are_in_the_matrix(self) -> Self:
        on_call = {c.slack_id for c in self.matrix if c.availability is Availability.ON_CALL}
        named = [*(self.on_call.rotation.members if self.on_call.rotation else []),
                 *(o.slack_id for o in self.on_call.overrides)]
        strangers = sorted({slack_id for slack_id in named if slack_id not in on_call})
        if strangers:
            raise ValueError(f"on_call names {', '.join(strangers)}, who is not an `availability: on-call` "
                             "entry of escalation.matrix")
        return self
