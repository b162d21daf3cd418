"""/incident declare: by command or by form, the same incident an alert opens, with its thread and procedure."""

import json

from tests.harness.bot import BotUnderTest
from tests.incidents.support import (
    ALERTS,
    GENERAL,
    INCIDENTS,
    JOHN,
    ONCALL,
    audited,
    command,
    header,
    incident,
    kinds,
    replies,
    settle,
    text_of,
)


async def test_declare_p1_opens_the_thread_and_starts_the_procedure(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    answer = await command(bot, "declare P1 checkout failing", user=ONCALL)
    assert answer["response_type"] == "ephemeral"
    assert "Declared P1 #1: checkout failing" in answer["text"] and "<#C0INCIDENTS>" in answer["text"]

    row = await incident(bot)
    assert (row["severity"], row["source"], row["declared_by"], row["channel"]) == ("P1", "declared", ONCALL, INCIDENTS)
    head = text_of(await header(bot))
    assert "P1 #1 · checkout failing" in head
    assert "*Commander:* none yet" in head and "*Phase:* immediate actions" in head
    assert "*Status page:* nothing posted" in head and f"*Paged:* <@{JOHN}>" in head
    assert f"declared by <@{ONCALL}>" in head and "*Alerts:* none (declared by hand)" in head
    assert "Firing" not in head

    checklist, page, status_prompt, diagnostics = await replies(bot)
    assert "immediate actions" in checklist and "`/health`" in checklist
    assert "diagnosis prompt at 10:15, resolution prompt at 10:30" in checklist
    assert "incident_statuspage_open" in checklist and "Stakeholders notified" in checklist
    assert f"Paging <@{JOHN}> (Lead DevOps, 24/7)" in page and "Jane Smith (Backend Lead) is next" in page
    assert "We are investigating an issue: checkout failing." in status_prompt
    assert "no status page is configured" in status_prompt
    assert "Automatic diagnostics" in diagnostics and "No deployments or rollbacks in the last 24h" in diagnostics

    assert await kinds(bot) == ["opened", "escalated", "reminder", "diagnostics"]
    [opened] = await bot.query("SELECT actor, text, data FROM timeline_events WHERE kind = 'opened'")
    assert opened["actor"] == ONCALL and opened["data"] == {"declared": True}
    rows = await bot.query("SELECT actor, action, detail, outcome FROM audit_log")
    assert rows == [{"actor": ONCALL, "action": "/incident", "detail": "declare P1 checkout failing",
                     "outcome": "accepted"}]
    assert bot.fake_slack.rejected == []


async def test_declare_without_severity_is_a_p3_with_key_events_only(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    answer = await command(bot, "declare search results look odd")
    assert "Declared P3 #1" in answer["text"] and "<#C0ALERTS00>" in answer["text"]
    row = await incident(bot)
    assert (row["severity"], row["channel"], row["title"]) == ("P3", ALERTS, "search results look odd")
    # P3: no checklist, no paging, no status-page prompt at open; its prompts come later, relaxed ×4.
    assert await replies(bot) == []
    assert await kinds(bot) == ["opened"]
    timers = await bot.query("SELECT kind, due_at, payload FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL"
                             " ORDER BY due_at")
    assert [(t["kind"], t["payload"]["phase"]) for t in timers] == [
        ("incident.phase", "diagnosis"), ("incident.phase", "resolution")]
    assert [(t["due_at"] - timers[0]["due_at"]).total_seconds() / 60 for t in timers] == [0, 60]


async def test_declare_with_no_arguments_opens_a_form(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    result = await bot.slack.command("/incident", "declare", user_id=ONCALL, channel_id=GENERAL)
    assert result.status == 200
    [opened] = await bot.fake_slack.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "incident_declare" and json.loads(view["private_metadata"]) == {"channel": GENERAL}
    assert [b["block_id"] for b in view["blocks"]] == ["severity", "title", "description"]
    assert view["blocks"][0]["element"]["initial_option"]["value"] == "P3"

    empty = await bot.slack.view_submission("incident_declare", {
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "P2"}}},
        "title": {"value": "   "}, "description": {"value": None}}, user_id=ONCALL,
        private_metadata=view["private_metadata"])
    assert empty.json == {"response_action": "errors", "errors": {"title": "The incident needs a title."}}
    assert await bot.query("SELECT id FROM incidents") == []

    done = await bot.slack.view_submission("incident_declare", {
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "P2"}}},
        "title": {"value": "payments timing out"}, "description": {"value": "PayOS answers in 30s"}},
        user_id=ONCALL, private_metadata=view["private_metadata"])
    assert done.status == 200 and not done.body
    await audited(bot, "incident_declare", 2)
    row = await incident(bot)
    assert (row["severity"], row["title"], row["channel"]) == ("P2", "payments timing out", INCIDENTS)
    assert (await kinds(bot))[:2] == ["opened", "note"]
    notes = await bot.query("SELECT text, actor FROM timeline_events WHERE kind = 'note'")
    assert notes == [{"text": "PayOS answers in 30s", "actor": ONCALL}]
    # P2 threads show every event: the note is a reply too.
    assert any("PayOS answers in 30s" in r for r in await replies(bot))
    [told] = bot.fake_slack.calls_to("chat.postEphemeral")
    assert told["channel"] == GENERAL and told["user"] == ONCALL and "Declared P2 #1" in told["text"]
    outcomes = [(r["outcome"], r["reason"]) for r in await bot.query(
        "SELECT outcome, reason FROM audit_log WHERE action = 'incident_declare' ORDER BY id")]
    assert outcomes == [("refused", "The incident needs a title."), ("accepted", None)]


async def test_bad_declarations_are_refused_with_the_correct_form(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    for text, problem in (("declare P7 checkout", "`P7` is not a severity"),
                          ("declare P2", "The incident needs a title"),
                          ("#3 declare P2 x", "takes no #ID")):
        answer = await command(bot, text)
        assert answer["response_type"] == "ephemeral" and problem in answer["text"], (text, answer)
        assert "Correct form: /incident declare [P1-P4] TITLE" in answer["text"]
    assert await bot.query("SELECT id FROM incidents") == []
    await settle(bot)
    assert bot.fake_slack.calls == []
