"""/healthz, /metrics and the 1 MiB request limit of the one aiohttp application."""

from prometheus_client.parser import text_string_to_metric_families

from tests.harness import BotUnderTest


async def test_healthz_answers_while_the_process_is_up(bot: BotUnderTest) -> None:
    result = await bot.get("/healthz")

    assert result.status == 200 and result.json == {"status": "ok"}


async def test_metrics_serve_prometheus_text_with_slack_commands(bot: BotUnderTest) -> None:
    await bot.slack.command("/oncall", "help")
    await bot.slack.command("/oncall", "everyone")

    result = await bot.get("/metrics")

    assert result.status == 200
    assert result.headers["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(result.body)}
    assert "atl_slack_commands" in families
    samples = {(s.labels.get("command"), s.labels.get("outcome")): s.value
               for s in families["atl_slack_commands"].samples if s.name == "atl_slack_commands_total"}
    # Counters are process-wide; earlier tests in this process may have counted too.
    assert samples[("/oncall", "accepted")] >= 1 and samples[("/oncall", "refused")] >= 1
    requests = [s for s in families["atl_http_requests"].samples
                if s.name == "atl_http_requests_total" and s.labels["route"] == "/slack/events"]
    assert requests and all(s.value >= 1 for s in requests)


async def test_metrics_count_each_command_once(bot: BotUnderTest) -> None:
    async def count() -> float:
        body = (await bot.get("/metrics")).body
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                if s.name == "atl_slack_commands_total" and s.labels == {"command": "/maint", "outcome": "refused"}:
                    return s.value
        return 0.0

    before = await count()
    await bot.slack.command("/maint", "defrag")
    await bot.slack.command("/maint", "")

    assert await count() == before + 2


async def test_oversized_request_is_refused(bot: BotUnderTest) -> None:
    body = bot.slack.command_body("/incident", "note " + "x" * (1024 * 1024 + 10))

    result = await bot.slack.post_raw(body)

    assert result.status == 413
    assert await bot.query("SELECT * FROM audit_log") == []
