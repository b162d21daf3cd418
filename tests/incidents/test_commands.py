"""Every /incident subcommand on a running incident, and how the incident is chosen: the thread it is run
in, #ID, or the only open incident; anything else is an ephemeral error with the correct form."""

from tests.harness.bot import BotUnderTest
from tests.incidents.support import (
    ADMIN,
    ALERTS,
    GENERAL,
    INCIDENTS,
    JANE,
    ONCALL,
    audited,
    command,
    header,
    incident,
    kinds,
    replies,
    text_of,
    thread,
    with_button,
)


async def test_ack_commander_note_status_and_timeline(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    await command(bot, "declare P1 checkout failing")
    row = await incident(bot)

    # In the incident's thread the incident is implied.
    answer = await command(bot, "ack", user=ONCALL, channel=INCIDENTS, thread_ts=row["thread_ts"])
    assert "You acknowledged P1 #1" in answer["text"]
    again = await command(bot, "ack", user=ADMIN)
    assert f"already acknowledged by <@{ONCALL}>" in again["text"]

    answer = await command(bot, f"commander <@{JANE}|jane>", user=ONCALL)
    assert f"<@{JANE}> is now the incident commander of #1" in answer["text"]
    assert (await incident(bot))["commander"] == JANE
    assert f"*Commander:* <@{JANE}>" in text_of(await header(bot))

    answer = await command(bot, "#1 note db connections at 95%", user=JANE)
    assert answer["text"] == "Note added to #1's timeline."
    answer = await command(bot, "note follow-up: alert on pool usage earlier", user=JANE)
    assert answer["text"] == "Follow-up added to #1's timeline."
    notes = await bot.query("SELECT text, actor, data FROM timeline_events WHERE kind = 'note' ORDER BY id")
    assert [(n["text"], n["actor"], n["data"]["follow_up"]) for n in notes] == [
        ("db connections at 95%", JANE, False), ("Follow-up: alert on pool usage earlier", JANE, True)]
    shown = "\n".join(await replies(bot))
    for expected in ("Acknowledged", f"<@{JANE}> is the incident commander", "db connections at 95%",
                     "Follow-up: alert on pool usage earlier"):
        assert expected in shown  # P1: every event reaches the thread

    status = await command(bot, "status", user=ADMIN)
    body = text_of(status)
    assert status["response_type"] == "ephemeral" and "P1 #1 · checkout failing" in body
    assert "*Status:* open" in body and f"*Commander:* <@{JANE}>" in body and f"<@{ONCALL}> at 10:00" in body
    assert "diagnosis prompt at 10:15" in body and "status-page prompt at 10:20" in body
    assert "*Status page:* nothing posted yet" in body and "incident_statuspage_open" in body

    timeline = await command(bot, "timeline", user=ADMIN)
    lines = text_of(timeline)
    assert "Timeline · P1 #1" in lines
    for expected in ("Declared P1 by", "Paged John Doe", "Acknowledged 0s after it opened", "db connections at 95%"):
        assert expected in lines
    assert lines.index("Declared P1") < lines.index("Acknowledged") < lines.index("db connections")
    assert await kinds(bot) == ["opened", "escalated", "reminder", "diagnostics", "acknowledged", "commander_set",
                                "note", "note"]
    assert bot.fake_slack.rejected == []


async def test_sev_raises_a_p3_into_the_p1_procedure_and_resolve_ends_it(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    await command(bot, "declare P3 search is slow")
    assert (await incident(bot))["channel"] == ALERTS and await replies(bot) == []

    answer = await command(bot, "sev P1", user=ONCALL)
    assert answer["text"] == "#1 severity P3 → P1."
    row = await incident(bot)
    assert (row["severity"], row["channel"]) == ("P1", INCIDENTS)  # the thread moved to the incidents channel
    moved = "\n".join(await replies(bot))
    assert "immediate actions" in moved and "Paging <@U0JOHNDOE0>" in moved and "Status page update" in moved
    assert "*Phase:* immediate actions" in text_of(await header(bot))
    assert (await command(bot, "sev P1"))["text"] == "#1 is already P1."

    answer = await command(bot, "resolve restarted the search pods", user=ONCALL)
    assert "Resolved P1 #1" in answer["text"] and "atl-bot incidents export 1" in answer["text"]
    row = await incident(bot)
    assert (row["status"], row["resolved_by"], row["summary"]) == ("resolved", ONCALL, "restarted the search pods")
    assert await bot.query("SELECT key FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL") == []
    assert "Resolved* after" in text_of(await header(bot))
    refused = await command(bot, "#1 sev P2")
    assert "#1 is already resolved" in refused["text"] and "Correct form: /incident [#ID] sev" in refused["text"]


async def test_which_incident_a_command_means(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    nothing = await command(bot, "ack")
    assert "No incident is open" in nothing["text"] and "Correct form: /incident [#ID] ack" in nothing["text"]

    await command(bot, "declare P2 checkout failing")
    await command(bot, "declare P3 admin page slow")
    two = await command(bot, "ack")
    assert "2 incidents are open: #2 (P3 admin page slow), #1 (P2 checkout failing)" in two["text"]
    assert "Say which with #ID" in two["text"]
    assert (await incident(bot, 1))["acknowledged_at"] is None

    in_thread = await command(bot, "ack", channel=INCIDENTS, thread_ts=(await incident(bot, 1))["thread_ts"])
    assert "P2 #1" in in_thread["text"]
    by_id = await command(bot, "#2 ack")
    assert "P3 #2" in by_id["text"]
    missing = await command(bot, "#99 note hello")
    assert "There is no incident #99." in missing["text"]
    assert "Correct form: /incident [#ID] note TEXT" in missing["text"]

    refusals = await bot.query("SELECT detail, outcome, reason FROM audit_log WHERE outcome = 'refused' ORDER BY id")
    assert [(r["detail"], r["reason"][:20]) for r in refusals] == [
        ("ack", "No incident is open."), ("ack", "2 incidents are open"), ("#99 note hello", "There is no incident")]


async def test_bad_input_runs_nothing(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    await command(bot, "declare P2 checkout failing")
    before = await kinds(bot)
    for text, problem, form in (
        ("sev P9", "`P9` is not a severity", "/incident [#ID] sev P1|P2|P3|P4"),
        ("commander bob", "`bob` is not a Slack user", "/incident [#ID] commander @user"),
        ("note", "needs a note text", "/incident [#ID] note TEXT"),
        ("resolve", "needs a resolution summary", "/incident [#ID] resolve SUMMARY"),
        ("ack now", "takes no arguments", "/incident [#ID] ack"),
        ("explode", "Unknown subcommand", "/incident declare"),
    ):
        answer = await command(bot, text, channel=GENERAL)
        assert answer["response_type"] == "ephemeral", text
        assert problem in answer["text"] and form in answer["text"], (text, answer["text"])
    assert await kinds(bot) == before


async def test_help_lists_every_subcommand(incident_bot: BotUnderTest) -> None:
    result = await incident_bot.slack.command("/incident", "help")
    assert result.json is not None
    text = result.json["text"]
    for usage in ("declare [P1-P4] TITLE", "sev P1|P2|P3|P4", "ack", "commander @user", "note TEXT", "status",
                  "timeline", "resolve SUMMARY"):
        assert f"`/incident {usage}`" in text
    assert "not enabled" not in text



async def test_p3_threads_get_key_events_only(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    await command(bot, "declare P3 admin page slow")
    await command(bot, "note the admin list query scans the whole table")
    await command(bot, f"commander <@{JANE}>")
    await command(bot, "ack")
    shown = "\n".join(await replies(bot))
    assert "incident commander" in shown and "Acknowledged" in shown
    assert "scans the whole table" not in shown  # on the record, not in a P3 thread
    assert await kinds(bot) == ["opened", "note", "commander_set", "acknowledged"]


async def test_the_communication_checklist_is_ticked_once_per_item(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    await command(bot, "declare P1 checkout failing")
    checklist = with_button(await thread(bot), "incident_comms_done")
    await bot.slack.block_action("incident_comms_done", "1:stakeholders", user_id=JANE, message=checklist)
    await audited(bot, "incident_comms_done")
    assert "Communication: Stakeholders notified via Slack" in (await replies(bot))[-1]
    await bot.slack.block_action("incident_comms_done", "1:stakeholders", user_id=ADMIN, message=checklist)
    await bot.slack.block_action("incident_comms_done", "1:press", user_id=ADMIN, message=checklist)
    rows = await audited(bot, "incident_comms_done", 3)
    assert [(r["actor"], r["outcome"], r["reason"]) for r in rows] == [
        (JANE, "accepted", None), (ADMIN, "accepted", f"already recorded by {JANE}"),
        (ADMIN, "refused", "unknown checklist item")]
    told = [r["text"] for r in bot.fake_slack.responses]
    assert f"Already recorded by <@{JANE}>." in told and any("`press` is not a communication" in t for t in told)
    events = await bot.query("SELECT actor, data FROM timeline_events WHERE kind = 'checklist'")
    assert [(e["actor"], e["data"]["item"]) for e in events] == [(JANE, "stakeholders")]
