"""The automatic diagnostics at P1 open: each environment's /health, recent runbook runs, and counts of the
runbook's key error-log patterns — real HTTP, a real run from the engine, real files."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.engine import handlers
from tests.engine.support import wait_run
from tests.harness.bot import MakeBot
from tests.harness.net import free_port
from tests.incidents.conftest import config
from tests.incidents.support import DEPLOYER, command, hand_driven, replies, settle
from tests.incidents.test_postmortem import RUNBOOKS, production


@pytest.fixture
async def health_url() -> AsyncIterator[str]:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/health"
    finally:
        await runner.cleanup()


async def test_diagnostics_report_health_recent_runs_and_error_logs(make_bot: MakeBot, clock, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    health_url: str) -> None:
    error_log, app_log = tmp_path / "error.log", tmp_path / "app.log"
    error_log.write_text("INFO started\n" + "ERROR db timeout\n" * 3 + "FATAL out of memory\n")
    app_log.write_text("payment 123 failed\n" * 2 + "GET /health 200\n" * 5000 + "auth token failed\n")
    patterns = [{"name": "errors", "file": str(error_log), "pattern": "ERROR|CRITICAL|FATAL"},
                {"name": "payment failures", "file": str(app_log), "pattern": "payment.*failed"},
                {"name": "authentication failures", "file": str(app_log), "pattern": "auth.*failed"},
                {"name": "cdn", "file": str(tmp_path / "missing.log"), "pattern": "5\\d\\d"}]
    staging = {**production(), "health": {"public_url": health_url}}
    overrides = config(engine={"runbooks_dir": str(RUNBOOKS)},
                       environments={"production": production(), "staging": staging},
                       response={"diagnostics": {"log_patterns": patterns, "log_tail_lines": 1000,
                                                 "health_timeout_seconds": 2}})
    handlers.reset()
    async with make_bot(config=overrides) as bot:
        await hand_driven(bot, clock)
        await bot.slack.command("/rollback", "staging", user_id=DEPLOYER, channel_id="C0DEPLOYS0")
        await wait_run(bot, 1, "waiting")
        await command(bot, "declare P1 checkout failing")
        await settle(bot)
        diagnostics = next(r for r in await replies(bot) if "Automatic diagnostics" in r)
        assert "1/2 environments healthy" in diagnostics
        assert f"ok staging: {health_url} healthy" in diagnostics and "FAIL production:" in diagnostics
        assert "1 runbook run(s) in the last 24h" in diagnostics
        assert f"#1 rollback-immediate in staging by <@{DEPLOYER}> — waiting, 06 May 10:00" in diagnostics
        assert "4 matching error-log line(s)" not in diagnostics  # the tail is 1000 lines: older hits are out
        assert "errors: 4 in the last 5 lines" in diagnostics
        assert "payment failures: 0 in the last 1000 lines" in diagnostics
        assert "authentication failures: 1 in the last 1000 lines" in diagnostics
        assert "cdn: cannot read" in diagnostics and "No such file or directory" in diagnostics
        [event] = await bot.query("SELECT text, data FROM timeline_events WHERE kind = 'diagnostics'")
        assert "5 matching error-log line(s)" in event["text"] and "need attention" in event["text"]
        assert [r["check"] for r in event["data"]["results"]] == ["health", "recent_runs", "error_logs"]
    handlers.reset()
