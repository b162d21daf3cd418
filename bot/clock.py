"""What time it is: the system clock in production, a hand-driven one in tests (no sleeps)."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
        require_aware(start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by `delta` or by keyword units (`minutes=15`); returns the new time."""
        step = (delta or timedelta()) + timedelta(**units)
        if step < timedelta():
            raise ValueError("a clock only moves forward")
        self._now += step
        return self._now

    def set(self, moment: datetime) -> None:
        require_aware(moment)
        if moment < self._now:
            raise ValueError("a clock only moves forward")
        self._now = moment


def require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; use an aware datetime")
