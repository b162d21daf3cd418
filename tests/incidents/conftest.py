"""The bot with the response procedure on a hand-driven clock: the scheduler's own loop is stopped, so
timers fire only when a test moves the clock and ticks (tests/incidents/support.py `settle`)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.harness.bot import BotUnderTest, MakeBot
from tests.incidents.support import START, hand_driven
from tests.statuspage.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def incident_bot(make_bot: MakeBot, clock: ManualClock) -> AsyncIterator[BotUnderTest]:
    async with make_bot(config=config()) as bot:
        await hand_driven(bot, clock)
        yield bot


ESCALATION: dict[str, Any] = {
    "matrix": [
        {"role": "Lead DevOps", "name": "John Doe", "slack_id": "U0JOHNDOE0", "availability": "24/7"},
        {"role": "Backend Lead", "name": "Jane Smith", "slack_id": "U0JANESMTH", "availability": "business-hours"},
        {"role": "Database Admin", "name": "Bob Wilson", "slack_id": "U0BOBWILSN", "availability": "on-call"},
    ],
}


def config(**extra: Any) -> dict[str, Any]:
    return {"escalation": ESCALATION, "grafana_dashboards": {"Overview": "https://grafana.example/d/overview"},
            **extra}


@pytest.fixture
async def statuspage() -> AsyncIterator[FakeStatuspage]:
    fake = FakeStatuspage()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def statuspage_env(fake: FakeStatuspage) -> dict[str, Any]:
    return {"STATUSPAGE_API_KEY": API_KEY, "STATUSPAGE_PAGE_ID": PAGE_ID, "STATUSPAGE_API_URL": fake.api_url}
