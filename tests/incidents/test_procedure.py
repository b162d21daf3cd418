"""The runbook's P1 procedure on timers (diagnosis at 15 min, resolution at 30 min, status-page prompts every
20 min) and the relaxed timelines of P2–P4, driven by a hand-moved clock: nothing sleeps."""

from tests.harness.bot import BotUnderTest, MakeBot
from tests.incidents.conftest import config
from tests.incidents.support import advance, command, hand_driven, header, kinds, replies, text_of


async def prompts(bot: BotUnderTest) -> list[str]:
    rows = await bot.query("SELECT data->>'prompt' AS prompt FROM timeline_events WHERE kind = 'reminder'"
                           " ORDER BY at, id")
    return [r["prompt"] for r in rows]


async def test_p1_prompts_at_15_and_30_minutes_and_the_status_page_every_20(incident_bot: BotUnderTest,
                                                                            clock) -> None:  # type: ignore[no-untyped-def]
    bot = incident_bot
    await command(bot, "declare P1 checkout failing")
    await command(bot, "ack")
    await command(bot, "note deploy v1.4.0 went out at 09:50")
    assert await prompts(bot) == ["statuspage"]
    shown = len(await replies(bot))

    await advance(bot, clock, minutes=14, seconds=59)
    assert await prompts(bot) == ["statuspage"] and len(await replies(bot)) == shown

    await advance(bot, clock, seconds=1)  # 15 min
    assert await prompts(bot) == ["statuspage", "diagnosis"]
    diagnosis = (await replies(bot))[-1]
    assert "P1 #1 — diagnosis" in diagnosis and "<https://grafana.example/d/overview|Overview>" in diagnosis
    assert "Resolution prompt at 10:30" in diagnosis
    assert "*Phase:* diagnosis" in text_of(await header(bot))

    await advance(bot, clock, minutes=5)  # 20 min: the second status-page prompt, drafted from the timeline
    assert await prompts(bot) == ["statuspage", "diagnosis", "statuspage"]
    draft = (await replies(bot))[-1]
    assert "Status page update for P1 #1" in draft and "deploy v1.4.0 went out at 09:50" in draft

    await advance(bot, clock, minutes=10)  # 30 min
    assert await prompts(bot) == ["statuspage", "diagnosis", "statuspage", "resolution"]
    resolution = (await replies(bot))[-1]
    assert "P1 #1 — resolution" in resolution and "incident_rollback_immediate" in resolution
    assert "incident_rollback_full" in resolution and "`/deploy vX.Y.Z`" in resolution
    assert "*Phase:* resolution" in text_of(await header(bot))

    await advance(bot, clock, minutes=10)  # 40 min
    assert (await prompts(bot)).count("statuspage") == 3

    await command(bot, "resolve rolled back to v1.3.9")
    assert (await prompts(bot))[-1] != "statuspage_final"  # nothing was posted, so nothing to close
    before = await kinds(bot)
    await advance(bot, clock, hours=3)
    assert await kinds(bot) == before  # every timer stopped with the incident
    assert bot.fake_slack.rejected == []


async def test_p2_runs_twice_as_slow_p3_four_times_and_p4_not_at_all(incident_bot: BotUnderTest,
                                                                    clock) -> None:  # type: ignore[no-untyped-def]
    bot = incident_bot
    await command(bot, "declare P2 search degraded")
    await command(bot, "#1 ack")
    await command(bot, "declare P3 admin slow")
    await command(bot, "declare P4 typo on the status email")

    async def of(incident_id: int) -> list[str]:
        # Prompts due at the same moment fire in parallel: compare them in a stable order.
        rows = await bot.query("SELECT data->>'prompt' AS prompt FROM timeline_events WHERE kind = 'reminder'"
                               " AND incident_id = %s ORDER BY at, data->>'prompt'", incident_id)
        return [r["prompt"] for r in rows]

    assert (await of(1), await of(2), await of(3)) == (["statuspage"], [], [])
    await advance(bot, clock, minutes=29)
    assert await of(1) == ["statuspage"]
    await advance(bot, clock, minutes=1)  # 30: P2 diagnosis, and P2's status page every 30 min
    assert await of(1) == ["statuspage", "diagnosis", "statuspage"]  # (same minute: sorted)
    await advance(bot, clock, minutes=30)  # 60: P2 resolution, P3 diagnosis
    assert await of(1) == ["statuspage", "diagnosis", "statuspage", "resolution", "statuspage"]
    assert await of(2) == ["diagnosis"]
    assert "P3 #2 — diagnosis" in (await replies(bot, 2))[-1]
    await advance(bot, clock, minutes=60)  # 120: P3 resolution
    assert await of(2) == ["diagnosis", "resolution"]
    await advance(bot, clock, hours=10)
    assert await of(3) == [] and await replies(bot, 3) == []


async def test_relaxed_timelines_are_configurable(make_bot: MakeBot, clock) -> None:  # type: ignore[no-untyped-def]
    overrides = config(response={"relaxed": {"P2": 3, "P4": 8}, "diagnosis_after_minutes": 10},
                       statuspage={"prompt_every_minutes": {"P2": None}})
    async with make_bot(config=overrides) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P2 search degraded")
        await command(bot, "declare P4 typo")
        due = await bot.query("SELECT incident_id, payload->>'phase' AS phase, due_at FROM timers"
                              " WHERE kind = 'incident.phase' ORDER BY incident_id, due_at")
        assert [(d["incident_id"], d["phase"], (d["due_at"] - clock.now()).total_seconds() / 60) for d in due] == [
            (1, "diagnosis", 30), (1, "resolution", 90), (2, "diagnosis", 80), (2, "resolution", 240)]
        assert await prompts(bot) == []  # P2 status-page prompts are turned off here
