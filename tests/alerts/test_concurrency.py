"""Concurrent deliveries: Alertmanager retries, HA pairs and two bot processes must still make one incident."""

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from bot.incidents.model import AlertGroup
from bot.incidents.severity import Severity
from bot.store import incidents as incident_rows
from tests.alerts.support import headers_posted, post_alert, recorded, replies_posted, settle
from tests.harness import BotUnderTest


def variant(i: int) -> dict:  # type: ignore[type-arg]
    """The same firing group as delivered by different attempts (annotations re-rendered each time)."""
    payload = recorded("group_two_firing")
    payload["commonAnnotations"]["description"] = f"attempt {i}"
    return payload


async def test_identical_webhooks_at_once_make_one_incident(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    results = await asyncio.gather(*(post_alert(bot, payload) for _ in range(20)))
    assert {r.status for r in results} == {200}
    assert sorted(r.json["status"] for r in results if r.json) == ["duplicate"] * 19 + ["stored"]
    await settle(bot)
    assert len(await bot.query("SELECT id FROM alert_notifications")) == 1
    assert len(await bot.query("SELECT id FROM incidents")) == 1
    assert len(headers_posted(bot)) == 1 and replies_posted(bot) == []


async def test_different_deliveries_of_one_group_at_once_make_one_incident(bot: BotUnderTest) -> None:
    results = await asyncio.gather(*(post_alert(bot, variant(i)) for i in range(20)))
    assert {r.status for r in results} == {200}
    await settle(bot)
    assert len(await bot.query("SELECT id FROM alert_notifications")) == 20
    assert len(await bot.query("SELECT id FROM incidents")) == 1
    assert len(headers_posted(bot)) == 1 and replies_posted(bot) == []
    fired = await bot.query("SELECT count(*) AS n FROM timeline_events WHERE kind = 'alert_fired'")
    assert fired[0]["n"] == 2


async def test_two_bot_processes_share_the_work_and_make_one_incident(make_bot) -> None:  # type: ignore[no-untyped-def]
    async with make_bot() as one, make_bot() as two:
        results = await asyncio.gather(*(post_alert(one if i % 2 else two, variant(i)) for i in range(20)))
        assert {r.status for r in results} == {200}
        await asyncio.gather(settle(one), settle(two))
        assert len(await one.query("SELECT id FROM incidents")) == 1
        assert len(headers_posted(one)) == 1 and replies_posted(one) == []
        await asyncio.gather(post_alert(one, recorded("group_one_resolved")),
                             post_alert(two, recorded("group_all_resolved")))
        await asyncio.gather(settle(one), settle(two))
        [incident] = await one.query("SELECT status FROM incidents")
        assert incident["status"] == "resolved"
        assert len(headers_posted(one)) == 1


async def test_the_database_refuses_a_second_open_incident_for_a_group(bot: BotUnderTest) -> None:
    group = AlertGroup(receiver="bot", group_key='{}:{alertname="X"}')
    new = incident_rows.NewIncident(severity=Severity.P3, title="x", source="alertmanager",
                                    opened_at=datetime.now(UTC), alert_group=group)
    async with bot.runtime.store.transaction() as tx:
        await incident_rows.insert(tx, new)
    with pytest.raises(psycopg.errors.UniqueViolation):
        async with bot.runtime.store.transaction() as tx:
            await incident_rows.insert(tx, new)
