"""A hand-driven clock and a handler that records what fired (the store fixtures: tests/conftest.py)."""

from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.incidents.severity import Severity
from bot.scheduler import Scheduler, Timer
from bot.store import incidents as incident_rows
from bot.store.db import Store
from bot.store.incidents import NewIncident

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City


class Recorder:
    """An async timer handler that remembers every timer it was given."""

    def __init__(self) -> None:
        self.fired: list[Timer] = []

    async def __call__(self, timer: Timer) -> None:
        self.fired.append(timer)

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.fired]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def scheduler(store: Store, clock: ManualClock) -> Scheduler:
    return Scheduler(store, clock)


async def new_incident(store: Store, title: str = "checkout failing") -> int:
    async with store.transaction() as tx:
        incident = await incident_rows.insert(
            tx, NewIncident(Severity.P1, title, "declared", START, declared_by="U0ADMIN000"))
    return incident.id
