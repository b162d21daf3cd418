"""The shared test harness: real PostgreSQL and Redis, a fake Slack Web API, a signing Slack client,
and the bot itself in process or as `atl-bot serve`. Fixtures live in tests/conftest.py."""

from tests.harness.bot import (
    DEFAULT_CONFIG,
    SIGNING_SECRET,
    BotUnderTest,
    MakeBot,
    deep_merge,
    run_bot,
    write_config,
)
from tests.harness.fake_slack import Call, FakeSlack
from tests.harness.net import free_port
from tests.harness.postgres import PgServer
from tests.harness.process import ServeProcess, run_cli
from tests.harness.redis import RedisServer
from tests.harness.slack_client import HttpResult, SignedSlack

__all__ = [
    "DEFAULT_CONFIG",
    "SIGNING_SECRET",
    "BotUnderTest",
    "Call",
    "FakeSlack",
    "HttpResult",
    "MakeBot",
    "PgServer",
    "RedisServer",
    "ServeProcess",
    "SignedSlack",
    "deep_merge",
    "free_port",
    "run_bot",
    "run_cli",
    "write_config",
]
