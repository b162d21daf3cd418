"""POST /webhooks/alertmanager: what it accepts, and every way it refuses (none of which reaches Slack)."""

import asyncio
import base64
import json

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.alerts.support import post_alert, recorded, settle
from tests.harness import BotUnderTest


async def stored_count(bot: BotUnderTest) -> int:
    rows = await bot.query("SELECT count(*) AS n FROM alert_notifications")
    return int(rows[0]["n"])


async def test_firing_payload_is_stored_before_the_answer(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    result = await post_alert(bot, payload)
    assert result.status == 200, result.body
    assert result.json is not None and result.json["status"] == "stored"
    # The answer came after the commit: the delivery and its alert are already readable.
    notes = await bot.query("SELECT id, receiver, group_key, status, payload FROM alert_notifications")
    assert [(n["receiver"], n["group_key"], n["status"]) for n in notes] == [
        ("bot", '{}:{alertname="HighResponseTime"}', "firing")]
    assert notes[0]["id"] == result.json["id"]
    # Every alert is in the stored delivery, word for word as Alertmanager sent it.
    assert notes[0]["payload"] == payload
    # The alert processor then records each alert's state from it.
    await settle(bot)
    alerts = await bot.query("SELECT fingerprint, status, labels, ends_at, severity, incident_id FROM alerts")
    assert [(a["fingerprint"], a["status"], a["labels"]["alertname"], a["ends_at"], a["severity"], a["incident_id"])
            for a in alerts] == [("c8414591d68eef8a", "firing", "HighResponseTime", None, "P3", 1)]


async def test_duplicate_delivery_is_2xx_and_stored_once(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    first = await post_alert(bot, payload)
    # Alertmanager's retry: same content, keys in another order, other whitespace.
    again = await post_alert(bot, json.dumps(payload, sort_keys=True, indent=2))
    assert (first.status, again.status) == (200, 200)
    assert again.json is not None and again.json["status"] == "duplicate"
    assert await stored_count(bot) == 1


async def test_deliveries_arriving_together_are_each_stored_before_their_answer(bot: BotUnderTest) -> None:
    payloads = []
    for i in range(40):
        payload = recorded("highresponsetime_firing")
        payload["groupKey"] = f'{{}}:{{alertname="HighResponseTime", shard="{i}"}}'
        payloads.append(payload)
    results = await asyncio.gather(*(post_alert(bot, p) for p in payloads))
    assert [r.status for r in results] == [200] * 40
    answered = {r.json["id"]: p["groupKey"] for r, p in zip(results, payloads, strict=True) if r.json}
    # Requests share commits, never rows: each answer names its own delivery, stored word for word.
    rows = await bot.query("SELECT id, group_key, payload FROM alert_notifications")
    assert {r["id"]: r["group_key"] for r in rows} == answered
    assert all(r["payload"] == payloads[[p["groupKey"] for p in payloads].index(r["group_key"])] for r in rows)


async def test_a_payload_postgresql_cannot_store_is_400_and_spoils_no_other(bot: BotUnderTest) -> None:
    good = []
    for i in range(10):
        payload = recorded("highresponsetime_firing")
        payload["commonAnnotations"]["description"] = f"delivery {i}"
        good.append(payload)
    bad = recorded("highresponsetime_firing")
    bad["commonAnnotations"]["description"] = "a NUL from a templating bug: \x00"  # JSON allows it; jsonb won't
    results = await asyncio.gather(*(post_alert(bot, p) for p in [*good[:5], bad, *good[5:]]))
    refused = results[5]
    # Alertmanager would retry a 5xx forever; the content is at fault, so it is a 400 with the reason.
    assert refused.status == 400, refused.body
    assert refused.json is not None and "cannot store this payload" in refused.json["error"]
    assert "\\u0000" in refused.json["error"]
    assert [r.status for r in results[:5] + results[6:]] == [200] * 10
    assert await stored_count(bot) == 10


async def test_without_alertmanager_token_the_webhook_is_not_configured(make_bot) -> None:  # type: ignore[no-untyped-def]
    async with make_bot(env={"ALERTMANAGER_TOKEN": None}) as bot:
        result = await post_alert(bot, recorded("highresponsetime_firing"))
        assert result.status == 503
        assert result.json is not None and "not configured" in result.json["error"]
        assert await stored_count(bot) == 0


async def test_missing_or_wrong_credentials_are_401(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    for token, headers in [
        (None, {}),
        ("am-token-but-longer", {}),
        ("am-toke", {}),
        ("", {}),
        (None, {"Authorization": "am-token"}),
        (None, {"Authorization": "Token am-token"}),
        (None, {"Authorization": "Basic " + base64.b64encode(b"alertmanager:am-token").decode()}),
    ]:
        result = await post_alert(bot, payload, token=token, headers=headers)
        assert result.status == 401, (token, headers, result.body)
        assert result.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert await stored_count(bot) == 0


async def test_basic_auth_users_from_config(make_bot) -> None:  # type: ignore[no-untyped-def]
    config = {"alerts": {"basic_auth": {"alertmanager": "s3cret-pass"}}}
    async with make_bot(config=config) as bot:
        payload = recorded("highresponsetime_firing")

        def basic(user: str, password: str) -> dict[str, str]:
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

        assert (await post_alert(bot, payload, token=None, headers=basic("alertmanager", "wrong"))).status == 401
        assert (await post_alert(bot, payload, token=None, headers=basic("someone", "s3cret-pass"))).status == 401
        assert (await post_alert(bot, payload, token=None,
                                 headers={"Authorization": "Basic not-base64!"})).status == 401
        ok = await post_alert(bot, payload, token=None, headers=basic("alertmanager", "s3cret-pass"))
        assert ok.status == 200, ok.body
        # The bearer token keeps working next to basic auth.
        assert (await post_alert(bot, recorded("highresponsetime_resolved"))).status == 200
        assert await stored_count(bot) == 2


async def test_over_one_mebibyte_is_413(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    payload["commonAnnotations"]["description"] = "x" * (1024 * 1024)
    result = await post_alert(bot, payload)
    assert result.status == 413
    assert await stored_count(bot) == 0


async def test_malformed_payloads_are_400_with_the_reason(bot: BotUnderTest) -> None:
    good = recorded("highresponsetime_firing")
    cases: list[tuple[object, str]] = [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({**good, "version": "3"}, 'version \'3\' is not supported'),
        ({k: v for k, v in good.items() if k != "version"}, "version: required field is missing"),
        ({k: v for k, v in good.items() if k != "groupKey"}, "groupKey: required field is missing"),
        ({**good, "alerts": []}, "alerts"),
        ({**good, "status": "pending"}, "status"),
        ({**good, "truncatedAlerts": -1}, "truncatedAlerts"),
        ({**good, "alerts": [{**good["alerts"][0], "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ({**good, "alerts": [{**good["alerts"][0], "startsAt": "2026-11-29T18:49:29"}]}, "time zone"),
        ({**good, "alerts": [{k: v for k, v in good["alerts"][0].items() if k != "fingerprint"}]},
         "alerts.0.fingerprint: required field is missing"),
    ]
    for body, reason in cases:
        raw = body if isinstance(body, str) else json.dumps(body)
        result = await post_alert(bot, raw)
        assert result.status == 400, (body, result.body)
        assert result.json is not None and reason in result.json["error"], (reason, result.json)
    assert await stored_count(bot) == 0


async def test_rejected_requests_never_reach_slack(make_bot) -> None:  # type: ignore[no-untyped-def]
    async with make_bot() as bot:
        payload = recorded("highresponsetime_firing")
        assert (await post_alert(bot, payload, token="wrong")).status == 401
        assert (await post_alert(bot, {**payload, "version": "2"})).status == 400
        big = {**payload, "commonAnnotations": {"summary": "y" * (1024 * 1024 + 10)}}
        assert (await post_alert(bot, big)).status == 413
        await settle(bot)
        assert bot.fake_slack.calls == [] and bot.fake_slack.rejected == []


async def test_storage_down_is_503_and_the_retry_is_stored(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    dbname = conninfo_to_dict(bot.database_url)["dbname"]
    maintenance = make_conninfo(bot.database_url, dbname="postgres")
    async with await psycopg.AsyncConnection.connect(maintenance, autocommit=True) as admin:
        await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
    try:
        result = await post_alert(bot, payload)
        assert result.status == 503, result.body
        assert result.json is not None and "storage unavailable" in result.json["error"]
    finally:
        async with await psycopg.AsyncConnection.connect(maintenance, autocommit=True) as admin:
            await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    # Alertmanager retries 5xx: once storage is back, the same delivery is stored and answered 2xx.
    for _ in range(50):
        retry = await post_alert(bot, payload)
        if retry.status == 200:
            break
        await asyncio.sleep(0.2)
    assert retry.status == 200, retry.body
    assert await stored_count(bot) == 1
