"""End to end: a metric goes bad → real Prometheus fires → real Alertmanager posts (bearer auth) → one
incident thread at the fake Slack; the metric recovers → the same message is edited to resolved."""

import asyncio
import re
from pathlib import Path

import aiohttp

from tests.alerts.stack import monitoring_stack
from tests.alerts.support import PATH, block_text, headers_posted, replies_posted, settle
from tests.harness import BotUnderTest

ALERTS = "C0ALERTS00"


async def wait_until(what: str, check, timeout: float = 45) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    for _ in range(int(timeout * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_metric_goes_bad_then_recovers(bot: BotUnderTest, tmp_path: Path) -> None:
    async with monitoring_stack(tmp_path / "stack", bot.url + PATH, "am-token") as stack:
        stack.metrics.latency["/api/checkout"] = 1.2  # p95 above the runbook's 500 ms
        [posted] = await bot.fake_slack.wait_for("chat.postMessage", 1, timeout=45)
        assert posted["channel"] == ALERTS and not posted.get("thread_ts")
        [incident] = await bot.query("SELECT * FROM incidents")
        assert incident["title"] == "p95 latency above 500ms on /api/checkout"
        assert incident["severity"] == "P3" and incident["am_receiver"] == "bot"

        async def threaded() -> bool:
            rows = await bot.query("SELECT thread_ts FROM incidents")
            return bool(rows[0]["thread_ts"])

        await wait_until("the header's ts to be recorded", threaded)
        [incident] = await bot.query("SELECT * FROM incidents")
        ts = incident["thread_ts"]
        text = block_text(bot.fake_slack.messages[(ALERTS, ts)])
        assert "1 firing · 0 resolved" in text and "route=/api/checkout" in text
        assert f"<{stack.prometheus.url}/graph?g0.expr=" in text  # Prometheus's generatorURL
        assert f"<{stack.alertmanager.url}/#/silences/new?filter=" in text  # Alertmanager's externalURL

        stack.metrics.latency["/api/checkout"] = 0.1  # recovers

        async def resolved() -> bool:
            return "Resolved* after" in block_text(bot.fake_slack.messages[(ALERTS, ts)])

        await wait_until("the header to be edited to resolved", resolved)
        await settle(bot)
        assert len(headers_posted(bot)) == 1
        assert {(u["channel"], u["ts"]) for u in bot.fake_slack.calls_to("chat.update")} == {(ALERTS, ts)}
        [reply] = replies_posted(bot)
        assert reply["thread_ts"] == ts and "Resolved after" in reply["text"]
        [incident] = await bot.query("SELECT status FROM incidents")
        assert incident["status"] == "resolved"
        kinds = [r["kind"] for r in await bot.query("SELECT kind FROM timeline_events ORDER BY at, id")]
        assert kinds == ["opened", "alert_fired", "alert_resolved", "resolved"]


async def test_alertmanager_with_the_wrong_token_gets_nowhere(bot: BotUnderTest, tmp_path: Path) -> None:
    async with monitoring_stack(tmp_path / "stack", bot.url + PATH, "not-the-token") as stack:
        stack.metrics.latency["/api/checkout"] = 1.2

        async def failed_delivery() -> bool:
            async with aiohttp.ClientSession() as session, \
                    session.get(stack.alertmanager.url + "/metrics") as resp:
                text = await resp.text()
            m = re.search(r'alertmanager_notifications_failed_total\{integration="webhook"\} (\d+)', text)
            return bool(m and int(m.group(1)) > 0)

        await wait_until("Alertmanager to report a failed webhook delivery", failed_delivery)
        assert await bot.query("SELECT id FROM alert_notifications") == []
        await settle(bot)
        assert bot.fake_slack.calls == []
        refused = await bot.get("/metrics")
        assert 'atl_alertmanager_webhooks_total{outcome="unauthorized"}' in refused.body
