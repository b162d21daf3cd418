"""Paging on P1/P2 open by the escalation matrix in the configured time zone, escalating to the next
reachable person after the severity's acknowledgement timeout, until someone acknowledges."""

from datetime import UTC, datetime

from bot.clock import ManualClock
from tests.harness.bot import BotUnderTest, MakeBot
from tests.incidents.conftest import config
from tests.incidents.support import (
    BOB,
    JANE,
    JOHN,
    ONCALL,
    advance,
    audited,
    command,
    hand_driven,
    header,
    replies,
    text_of,
    thread,
    with_button,
)


async def paged(bot: BotUnderTest) -> list[list[str]]:
    rows = await bot.query("SELECT data FROM timeline_events WHERE kind = 'escalated' ORDER BY at, id")
    return [r["data"]["paged"] for r in rows]


async def test_business_hours_escalate_through_the_whole_matrix(incident_bot: BotUnderTest,
                                                                clock: ManualClock) -> None:
    bot = incident_bot  # Monday 10:00 in Ho Chi Minh City: everyone is reachable
    await command(bot, "declare P1 checkout failing")
    assert await paged(bot) == [[JOHN]]
    await advance(bot, clock, minutes=4, seconds=59)
    assert await paged(bot) == [[JOHN]]
    await advance(bot, clock, seconds=1)
    assert await paged(bot) == [[JOHN], [JANE]]
    escalation = (await replies(bot))[-1]
    assert f"Escalating to <@{JANE}> (Backend Lead, business hours (Mon 10:05 UTC+07))" in escalation
    assert f"Paged before: <@{JOHN}>" in escalation and "Bob Wilson (Database Admin) is next" in escalation
    await advance(bot, clock, minutes=5)
    assert await paged(bot) == [[JOHN], [JANE], [BOB]]
    await advance(bot, clock, minutes=5)
    assert await paged(bot) == [[JOHN], [JANE], [BOB], []]
    # (15 min: the diagnosis prompt comes at the same moment)
    assert any("Everyone reachable has been paged for P1 #1 and nobody acknowledged" in r for r in await replies(bot))
    await advance(bot, clock, minutes=30)
    assert len(await paged(bot)) == 4  # nobody left: no more pages
    assert f"*Paged:* <@{JOHN}>, <@{JANE}>, <@{BOB}>" in text_of(await header(bot))


async def test_at_night_the_business_hours_lead_is_skipped(make_bot: MakeBot) -> None:
    night = ManualClock(datetime(2024, 5, 6, 15, 0, tzinfo=UTC))  # Monday 22:00 in Ho Chi Minh City
    async with make_bot(config=config()) as bot:
        await hand_driven(bot, night)
        await command(bot, "declare P2 payments slow")
        assert await paged(bot) == [[JOHN]]
        assert "Bob Wilson (Database Admin) is next" in (await replies(bot))[1]
        await advance(bot, night, minutes=14)
        assert await paged(bot) == [[JOHN]]
        await advance(bot, night, minutes=1)  # P2 escalates after 15 min
        assert await paged(bot) == [[JOHN], [BOB]]
        await advance(bot, night, minutes=15)
        assert await paged(bot) == [[JOHN], [BOB], []]


async def test_acknowledging_stops_the_escalation(incident_bot: BotUnderTest, clock: ManualClock) -> None:
    bot = incident_bot
    await command(bot, "declare P1 checkout failing")
    page = with_button(await thread(bot), "incident_ack")
    await advance(bot, clock, minutes=3)
    await bot.slack.block_action("incident_ack", user_id=JOHN, message=page)
    await audited(bot, "incident_ack")
    row = (await bot.query("SELECT acknowledged_by, acknowledged_at, opened_at FROM incidents"))[0]
    assert row["acknowledged_by"] == JOHN and (row["acknowledged_at"] - row["opened_at"]).total_seconds() == 180
    await advance(bot, clock, minutes=30)
    assert await paged(bot) == [[JOHN]]
    assert await bot.query("SELECT key FROM timers WHERE kind = 'incident.escalate' AND cancelled_at IS NULL"
                           " AND fired_at IS NULL") == []


async def test_lowering_below_p2_stops_paging_and_p3_never_pages(incident_bot: BotUnderTest,
                                                                 clock: ManualClock) -> None:
    bot = incident_bot
    await command(bot, "declare P2 search degraded")
    await command(bot, "declare P3 admin slow")
    await command(bot, "#1 sev P3", user=ONCALL)
    await advance(bot, clock, minutes=60)
    assert await paged(bot) == [[JOHN]]  # #1's first page only; #2 never paged


async def test_without_a_matrix_nobody_is_paged_and_the_checklist_says_why(make_bot: MakeBot,
                                                                           clock: ManualClock) -> None:
    async with make_bot() as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P1 checkout failing")
        assert await paged(bot) == []
        assert "no escalation matrix is configured" in (await replies(bot))[0]
