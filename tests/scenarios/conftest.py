"""The bot on the real local stack (tests/stack): the shipped runbooks, a hand-driven clock for the
confirmations and follow-ups, real nginx, podman's Docker API, git, PostgreSQL, Prometheus and pm2."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from tests.engine.support import on_clock
from tests.harness.bot import BotUnderTest, MakeBot
from tests.stack.bluegreen import BlueGreenStack
from tests.stack.fixtures import *  # noqa: F403
from tests.stack.prometheus import MetricsApp, PrometheusServer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 5, 6, 2, 0, tzinfo=UTC))


@pytest.fixture
async def stack_bot(make_bot: MakeBot, blue_green_stack: BlueGreenStack, prometheus: PrometheusServer,
                    metrics_app: MetricsApp, clock: ManualClock) -> AsyncIterator[BotUnderTest]:
    """The bot with `environments.production` pointing at the blue/green stack and the real Prometheus."""
    metrics_app.set(p95_s=0.1, error_ratio=0.0)
    production = blue_green_stack.environment_config(prometheus_url=prometheus.url)
    async with make_bot(config={"environments": {"production": production}}) as bot, on_clock(bot, clock):
        yield bot
