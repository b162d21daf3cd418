"""Incidents from Alertmanager run the same procedure as declared ones; the procedure's timers live in
PostgreSQL, so a restarted bot (a second process over the same database) carries on, each timer once."""

import asyncio
from datetime import UTC, datetime

from bot.clock import ManualClock
from tests.alerts.support import post_alert, recorded
from tests.harness.bot import MakeBot
from tests.incidents.conftest import config
from tests.incidents.support import (
    INCIDENTS,
    JANE,
    JOHN,
    advance,
    command,
    hand_driven,
    incident,
    kinds,
    replies,
    scheduler,
    settle,
)

# Just after the recorded alerts fired (2026-11-29 19:20 UTC): Monday 30 Nov, 10:00 in Ho Chi Minh City.
AFTER_THE_ALERTS = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
LATER = datetime(2031, 3, 3, 3, 0, tzinfo=UTC)  # a Monday, 10:00 in Ho Chi Minh City


async def test_an_alert_opened_p1_gets_the_procedure_and_resolving_stops_it(make_bot: MakeBot) -> None:
    clock = ManualClock(AFTER_THE_ALERTS)
    async with make_bot(config=config()) as bot:
        await hand_driven(bot, clock)
        firing = recorded("highresponsetime_firing")
        firing["alerts"][0]["labels"]["priority"] = "P1"
        assert (await post_alert(bot, firing)).status == 200
        await settle(bot)
        row = await incident(bot)
        assert (row["severity"], row["source"], row["channel"]) == ("P1", "alertmanager", INCIDENTS)
        shown = await replies(bot)
        assert "immediate actions" in shown[0] and f"Paging <@{JOHN}>" in shown[1] and "Status page" in shown[2]
        assert await kinds(bot) == ["opened", "alert_fired", "escalated", "reminder", "diagnostics"]

        await advance(bot, clock, minutes=5)
        assert f"Escalating to <@{JANE}>" in (await replies(bot))[-1]

        resolved = recorded("highresponsetime_resolved")
        resolved["alerts"][0]["labels"]["priority"] = "P1"
        await post_alert(bot, resolved)
        await settle(bot)
        assert (await incident(bot))["status"] == "resolved"
        assert await bot.query("SELECT key FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL") == []
        [upload] = bot.fake_slack.files.values()
        assert upload["thread_ts"] == row["thread_ts"] and b"opened by Alertmanager" in upload["content"]
        assert b"- **Alerts:** HighResponseTime" in upload["content"]
        before = await kinds(bot)
        await advance(bot, clock, hours=2)
        assert await kinds(bot) == before


async def test_a_restarted_bot_keeps_the_open_incidents_timers(make_bot: MakeBot) -> None:
    # Later than the real time: until the test hands it this clock, the restarted bot's scheduler ticks on
    # the system clock, and for it these timers are not due yet.
    clock = ManualClock(LATER)
    async with make_bot(config=config()) as first:
        await hand_driven(first, clock)
        await command(first, "declare P1 checkout failing")
        assert await kinds(first) == ["opened", "escalated", "reminder", "diagnostics"]

    async with make_bot(config=config()) as second:  # the same deployment, restarted
        await hand_driven(second, clock)
        await advance(second, clock, minutes=5)
        assert f"Escalating to <@{JANE}>" in (await replies(second))[-1]
        await advance(second, clock, minutes=10)
        assert any("P1 #1 — diagnosis" in r for r in await replies(second))
        assert (await kinds(second)).count("reminder") == 2  # the first status-page prompt and the diagnosis


async def test_two_bots_fire_each_timer_once(make_bot: MakeBot, clock: ManualClock) -> None:
    async with make_bot(config=config()) as one, make_bot(config=config()) as two:
        await hand_driven(one, clock)
        await hand_driven(two, clock)
        await command(one, "declare P1 checkout failing")
        clock.advance(minutes=15)
        await asyncio.gather(scheduler(one).tick(), scheduler(two).tick(), scheduler(one).tick())
        await settle(one)
        await settle(two)
        escalations = await one.query("SELECT data FROM timeline_events WHERE kind = 'escalated' ORDER BY id")
        assert [e["data"]["paged"] for e in escalations] == [[JOHN], [JANE]]
        diagnosis = await one.query("SELECT id FROM timeline_events WHERE data->>'prompt' = 'diagnosis'")
        assert len(diagnosis) == 1
