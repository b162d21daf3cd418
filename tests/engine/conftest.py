"""The bot with the engine on test runbooks (tests/engine/runbooks) and a hand-driven clock.

The runbooks use `enginetest.step` (tests/engine/handlers.py) and the real git.verify_tag against a real
tagged repository, so the engine's state machine is exercised fast; tests/scenarios/ runs the shipped
runbooks against the real stack.
"""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.engine import handlers
from tests.engine.support import on_clock
from tests.harness.bot import BotUnderTest, MakeBot
from tests.stack.gitrepo import tagged_repo

RUNBOOKS = Path(__file__).parent / "runbooks"
SECRET = "s3cret-pw"
START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City


@pytest.fixture
def colours() -> Iterator[dict[str, Path]]:
    """Blue and green checkouts of a repository tagged v0.9.0 and v1.0.0."""
    root = Path(tempfile.mkdtemp(prefix="atl-engine-"))
    try:
        repo = tagged_repo(root / "repo", None, {"v0.9.0": {"VERSION": "v0.9.0\n"},
                                                 "v1.0.0": {"VERSION": "v1.0.0\n"}})
        yield {c: repo.clone(root / c, "v0.9.0") for c in ("blue", "green")}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def environment(colours: dict[str, Path], **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "colours": {c: {"app_dir": str(path), "port": 3002 if c == "blue" else 3001, "container": f"app-{c}"}
                    for c, path in colours.items()},
        "nginx": {"site_path": "/nonexistent/upstream.conf"},
        "health": {"public_url": "http://127.0.0.1:9/health"},
        "confirmation_ttl": "15m",
        "cleanup_after": "24h",
        "database_dsn": f"postgresql://deploy:{SECRET}@db.example.test:5432/shop",
    }
    config.update(overrides)
    return config


def engine_config(colours: dict[str, Path], **extra: Any) -> dict[str, Any]:
    return {
        "engine": {"runbooks_dir": str(RUNBOOKS)},
        "environments": {"production": environment(colours), "staging": environment(colours)},
        **extra,
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def engine_bot(make_bot: MakeBot, colours: dict[str, Path], clock: ManualClock) -> AsyncIterator[BotUnderTest]:
    handlers.reset()
    async with make_bot(config=engine_config(colours)) as bot, on_clock(bot, clock):
        try:
            yield bot
        finally:
            handlers.reset()  # before the engine idles, so a gated step is not left waiting
