"""Alert groups become incident threads: one header per group, edited in place; replies only for changes.

Payloads are real Alertmanager notifications (tests/fixtures/alertmanager/), replayed in the orders
Alertmanager can produce: repeats, partial resolves, re-fires, late retries.
"""

from datetime import timedelta
from urllib.parse import unquote

from bot.slack.incident_blocks import silence_url
from tests.alerts.support import block_text, headers_posted, post_alert, recorded, replies_posted, settle, shifted
from tests.harness import BotUnderTest

ALERTS = "C0ALERTS00"
INCIDENTS = "C0INCIDENTS"


async def deliver(bot: BotUnderTest, *names_or_payloads: object) -> None:
    for item in names_or_payloads:
        payload = recorded(item) if isinstance(item, str) else item
        result = await post_alert(bot, payload)
        assert result.status == 200, result.body
    await settle(bot)


async def incidents(bot: BotUnderTest) -> list[dict]:  # type: ignore[type-arg]
    return await bot.query("SELECT * FROM incidents ORDER BY id")


async def timeline(bot: BotUnderTest, incident_id: int) -> list[str]:
    rows = await bot.query("SELECT kind FROM timeline_events WHERE incident_id = %s ORDER BY at, id", incident_id)
    return [r["kind"] for r in rows]


def header(bot: BotUnderTest, channel: str, ts: str) -> str:
    return block_text(bot.fake_slack.messages[(channel, ts)])


async def test_first_firing_posts_one_header_in_the_alerts_channel(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing")
    posted = headers_posted(bot)
    assert len(posted) == 1 and replies_posted(bot) == []
    assert posted[0]["channel"] == ALERTS  # severity=warning → P3 → channels.alerts
    [incident] = await incidents(bot)
    assert (incident["severity"], incident["status"], incident["source"]) == ("P3", "open", "alertmanager")
    assert incident["title"] == "p95 latency above 500ms on fakeapp"  # the summary annotation
    assert incident["channel"] == ALERTS and incident["thread_ts"]
    text = header(bot, ALERTS, incident["thread_ts"])
    assert "P3 #1 · p95 latency above 500ms on fakeapp" in text
    assert "1 firing · 0 resolved" in text
    assert "instance=127.0.0.1:18000" in text and "job=fakeapp" in text  # key labels
    assert "<http://127.0.0.1:19090/graph?g0.expr=" in text  # generatorURL
    assert ("<http://127.0.0.1:19093/#/silences/new?filter=%7Balertname%3D%22HighResponseTime%22%7D"
            "|Silence in Alertmanager>") in text
    assert "Runbook `switch-upstream`" in text
    actions = next(b for b in bot.fake_slack.messages[(ALERTS, incident["thread_ts"])]["blocks"]
                   if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in actions] == ["incident_ack", "incident_set_severity", "incident_silence"]
    assert actions[1]["initial_option"]["value"] == "P3"
    assert actions[2]["confirm"]["title"]["text"] == "Silence for 1h?"
    assert await timeline(bot, incident["id"]) == ["opened", "alert_fired"]


async def test_title_falls_back_to_the_alertname(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    payload["commonAnnotations"] = {}
    payload["alerts"][0]["annotations"] = {}
    await deliver(bot, payload)
    [incident] = await incidents(bot)
    assert incident["title"] == "HighResponseTime"


async def test_repeats_without_change_post_nothing(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing")
    calls = len(bot.fake_slack.calls)
    # Alertmanager's repeat_interval resend: same alerts, a re-rendered annotation ($value changed).
    repeat = recorded("highresponsetime_firing")
    repeat["alerts"][0]["annotations"]["description"] = "p95 is 0.93s"
    repeat["commonAnnotations"]["description"] = "p95 is 0.93s"
    await deliver(bot, repeat, "highresponsetime_firing")
    assert len(bot.fake_slack.calls) == calls
    assert len(await bot.query("SELECT id FROM alert_notifications")) == 2  # both stored, one was new
    assert [i["status"] for i in await incidents(bot)] == ["open"]


async def test_all_resolved_edits_the_header_and_replies_once(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing")
    [posted] = headers_posted(bot)
    await deliver(bot, "highresponsetime_resolved")
    assert len(headers_posted(bot)) == 1  # never a second top-level message
    [incident] = await incidents(bot)
    ts = incident["thread_ts"]
    updates = bot.fake_slack.calls_to("chat.update")
    assert [(u["channel"], u["ts"]) for u in updates] == [(ALERTS, ts)]
    text = header(bot, ALERTS, ts)
    assert "Resolved* after 2s" in text and "0 firing · 1 resolved" in text
    assert "incident_ack" not in str(bot.fake_slack.messages[(ALERTS, ts)]["blocks"])  # no buttons once resolved
    [reply] = replies_posted(bot)
    assert reply["thread_ts"] == ts and "Resolved after 2s" in reply["text"]
    assert incident["status"] == "resolved" and incident["resolved_by"] == "alertmanager"
    assert (incident["resolved_at"] - incident["opened_at"]) == timedelta(seconds=2)  # alert times, not ours
    assert await timeline(bot, incident["id"]) == ["opened", "alert_fired", "alert_resolved", "resolved"]
    assert posted["channel"] == ALERTS


async def test_one_resolved_alert_never_resolves_the_others(bot: BotUnderTest) -> None:
    await deliver(bot, "group_two_firing")
    [incident] = await incidents(bot)
    ts = incident["thread_ts"]
    assert incident["title"] == "HighResponseTime"  # the two alerts have different summaries
    assert "2 firing · 0 resolved" in header(bot, ALERTS, ts)

    await deliver(bot, "group_one_resolved")
    [incident] = await incidents(bot)
    assert incident["status"] == "open"
    text = header(bot, ALERTS, ts)
    assert "1 firing · 1 resolved" in text
    assert any(line.startswith(":white_check_mark: ~HighResponseTime~") and "route=/api/search" in line
               for line in text.splitlines())
    [reply] = replies_posted(bot)
    assert "HighResponseTime resolved" in reply["text"] and "/api/search" in reply["text"]
    assert "Resolved after" not in reply["text"]

    await deliver(bot, "group_all_resolved")
    [incident] = await incidents(bot)
    assert incident["status"] == "resolved"
    assert "0 firing · 2 resolved" in header(bot, ALERTS, ts)
    assert len(replies_posted(bot)) == 2 and "Resolved after" in replies_posted(bot)[1]["text"]
    assert len(headers_posted(bot)) == 1
    assert await timeline(bot, incident["id"]) == [
        "opened", "alert_fired", "alert_fired", "alert_resolved", "alert_resolved", "resolved"]


async def test_refire_within_the_reopen_window_reopens_the_same_incident(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing", "highresponsetime_resolved")
    await deliver(bot, shifted(recorded("highresponsetime_firing"), timedelta(minutes=30)))
    [incident] = await incidents(bot)
    assert incident["status"] == "open" and incident["reopened_count"] == 1
    assert len(headers_posted(bot)) == 1
    assert "Firing* since" in header(bot, ALERTS, incident["thread_ts"]) and "reopened 1×" in header(
        bot, ALERTS, incident["thread_ts"])
    assert "Reopened" in replies_posted(bot)[-1]["text"]
    assert (await timeline(bot, incident["id"]))[-2:] == ["reopened", "alert_fired"]

    await deliver(bot, shifted(recorded("highresponsetime_resolved"), timedelta(minutes=30)))
    [incident] = await incidents(bot)
    assert incident["status"] == "resolved"


async def test_refire_after_the_reopen_window_opens_a_new_incident(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing", "highresponsetime_resolved")
    await deliver(bot, shifted(recorded("highresponsetime_firing"), timedelta(hours=1, minutes=1)))
    first, second = await incidents(bot)
    assert (first["status"], second["status"]) == ("resolved", "open")
    assert len(headers_posted(bot)) == 2
    assert second["thread_ts"] != first["thread_ts"]
    assert await timeline(bot, second["id"]) == ["opened", "alert_fired"]


async def test_reopen_window_is_configurable(make_bot) -> None:  # type: ignore[no-untyped-def]
    async with make_bot(config={"alerts": {"reopen_window": "5m"}}) as bot:
        await deliver(bot, "highresponsetime_firing", "highresponsetime_resolved")
        await deliver(bot, shifted(recorded("highresponsetime_firing"), timedelta(minutes=6)))
        assert [i["status"] for i in await incidents(bot)] == ["resolved", "open"]


async def test_late_firing_retry_after_the_resolve_does_not_reopen(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing", "highresponsetime_resolved")
    calls = len(bot.fake_slack.calls)
    # A retry of an earlier firing notification (same startsAt), delivered after the resolve.
    late = recorded("highresponsetime_firing")
    late["commonAnnotations"]["description"] = "rendered at the first attempt"
    await deliver(bot, late)
    [incident] = await incidents(bot)
    assert incident["status"] == "resolved"
    assert len(bot.fake_slack.calls) == calls


async def test_resolve_arriving_before_its_firing(bot: BotUnderTest) -> None:
    # The firing delivery failed and is retried after the resolve got through.
    await deliver(bot, "highresponsetime_resolved", "highresponsetime_firing")
    [incident] = await incidents(bot)
    assert incident["status"] == "resolved"
    assert len(headers_posted(bot)) == 1
    assert "Resolved* after 2s" in header(bot, ALERTS, incident["thread_ts"])
    assert await timeline(bot, incident["id"]) == ["opened", "alert_fired", "alert_resolved", "resolved"]


async def test_multi_alert_group_out_of_order(bot: BotUnderTest) -> None:
    # The partial resolve arrives first; the older "both firing" notification must not revive /api/search.
    await deliver(bot, "group_one_resolved", "group_two_firing")
    [incident] = await incidents(bot)
    assert incident["status"] == "open"
    assert "1 firing · 1 resolved" in header(bot, ALERTS, incident["thread_ts"])
    await deliver(bot, "group_all_resolved")
    assert [i["status"] for i in await incidents(bot)] == ["resolved"]


async def test_severity_rises_with_the_alerts_and_the_thread_moves_to_incidents(bot: BotUnderTest) -> None:
    await deliver(bot, "raise_warning_firing")
    [incident] = await incidents(bot)
    old_ts = incident["thread_ts"]
    assert (incident["severity"], incident["channel"]) == ("P3", ALERTS)

    await deliver(bot, "raise_critical_firing")  # severity=critical joins the group → P2
    [incident] = await incidents(bot)
    assert (incident["severity"], incident["channel"]) == ("P2", INCIDENTS)
    new_ts = incident["thread_ts"]
    assert [h["channel"] for h in headers_posted(bot)] == [ALERTS, INCIDENTS]
    assert "moved to <#C0INCIDENTS>" in header(bot, ALERTS, old_ts)
    assert "P2 #1" in header(bot, INCIDENTS, new_ts) and "2 firing" in header(bot, INCIDENTS, new_ts)
    # The old thread hears why it moved; the new thread is for the P2 procedure from here on.
    [old_reply] = [r for r in replies_posted(bot) if r["thread_ts"] == old_ts]
    assert "Severity raised P3 → P2" in old_reply["text"]
    severity_rows = await bot.query(
        "SELECT actor, data FROM timeline_events WHERE kind = 'severity_changed' AND incident_id = %s", incident["id"])
    assert [(r["actor"], r["data"]["from"], r["data"]["to"], r["data"]["automatic"]) for r in severity_rows] == [
        (None, "P3", "P2", True)]

    # The critical alert resolves, the warning keeps firing: severity never falls by itself.
    partly = recorded("raise_critical_firing")
    for alert in partly["alerts"]:
        if alert["labels"]["severity"] == "critical":
            alert["status"], alert["endsAt"] = "resolved", "2026-11-29T19:20:42.000Z"
    await deliver(bot, partly)
    [incident] = await incidents(bot)
    assert (incident["severity"], incident["status"]) == ("P2", "open")

    await deliver(bot, "raise_all_resolved")
    [incident] = await incidents(bot)
    assert (incident["severity"], incident["status"], incident["channel"]) == ("P2", "resolved", INCIDENTS)
    assert "Resolved* after" in header(bot, INCIDENTS, new_ts)
    assert "moved to <#C0INCIDENTS>" in header(bot, ALERTS, old_ts)  # the old header is left pointing there
    assert [r["thread_ts"] for r in replies_posted(bot) if "Resolved after" in r["text"]] == [new_ts]
    assert len([r for r in replies_posted(bot) if r["thread_ts"] == old_ts]) == 1
    assert len(headers_posted(bot)) == 2


async def test_priority_label_overrides_routing(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    payload["alerts"][0]["labels"]["priority"] = "P1"
    await deliver(bot, payload)
    [incident] = await incidents(bot)
    assert (incident["severity"], incident["channel"]) == ("P1", INCIDENTS)


async def test_routing_rules_come_from_the_routing_file(make_bot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "routing.yml"
    rules.write_text("rules:\n  - match: {alertname: HighResponseTime}\n    severity: P2\n")
    async with make_bot(config={"alerts": {"routing_file": str(rules)}}) as bot:
        await deliver(bot, "highresponsetime_firing")
        [incident] = await incidents(bot)
        assert (incident["severity"], incident["channel"]) == ("P2", INCIDENTS)


async def test_truncated_alerts_and_dashboards_are_shown(make_bot) -> None:  # type: ignore[no-untyped-def]
    config = {"grafana_dashboards": {"api": "https://grafana.example/d/api"}}
    async with make_bot(config=config) as bot:
        payload = recorded("highresponsetime_firing")
        payload["truncatedAlerts"] = 7
        payload["alerts"][0]["annotations"]["runbook_url"] = "https://runbooks.example/latency"
        await deliver(bot, payload)
        [incident] = await incidents(bot)
        text = header(bot, ALERTS, incident["thread_ts"])
        assert "7 more alerts not shown (truncatedAlerts)" in text
        assert "<https://grafana.example/d/api|Grafana: api>" in text
        assert "<https://runbooks.example/latency|Runbook>" in text


async def test_truncated_group_resolves_only_when_alertmanager_says_so(bot: BotUnderTest) -> None:
    firing = recorded("group_two_firing")
    firing["truncatedAlerts"] = 3
    await deliver(bot, firing)
    # Every listed alert resolved, but the group is still firing: the left-out alerts may be firing.
    partial = recorded("group_all_resolved")
    partial["status"], partial["truncatedAlerts"] = "firing", 3
    partial["alerts"] = [{**a, "status": "resolved", "endsAt": "2026-11-29T19:20:40.000Z"}
                         for a in recorded("group_two_firing")["alerts"]]
    await deliver(bot, partial)
    assert [i["status"] for i in await incidents(bot)] == ["open"]
    done = recorded("group_all_resolved")
    done["truncatedAlerts"] = 3
    await deliver(bot, done)
    assert [i["status"] for i in await incidents(bot)] == ["resolved"]


async def test_repeated_resolve_posts_nothing(bot: BotUnderTest) -> None:
    await deliver(bot, "highresponsetime_firing", "highresponsetime_resolved")
    calls = len(bot.fake_slack.calls)
    again = recorded("highresponsetime_resolved")
    again["commonAnnotations"]["description"] = "re-rendered"  # not a byte-identical duplicate
    await deliver(bot, again)
    [incident] = await incidents(bot)
    assert incident["status"] == "resolved" and incident["reopened_count"] == 0
    assert len(bot.fake_slack.calls) == calls
    assert await timeline(bot, incident["id"]) == ["opened", "alert_fired", "alert_resolved", "resolved"]


def test_the_silence_link_quotes_label_values_as_alertmanager_parses_them() -> None:
    url = silence_url("http://am.example:9093/", {"alertname": "Disk", "path": 'C:\\logs "old"'})
    assert url.startswith("http://am.example:9093/#/silences/new?filter=")
    assert unquote(url.split("filter=", 1)[1]) == '{alertname="Disk",path="C:\\\\logs \\"old\\""}'
