"""Atlassian Statuspage v1 against the fake: one status-page incident per incident, created, updated in
place and resolved, with component statuses; clear errors; retries that honour Retry-After."""

import logging
import time

import pytest

from bot.statuspage import (
    AtlassianStatuspage,
    ComponentStatus,
    IncidentStatus,
    StatusPageAuthError,
    StatusPageError,
    StatusPageUnavailable,
    StatusRef,
    build_status_page,
)
from tests.statuspage.conftest import atlassian, config, draft, settings_for
from tests.statuspage.fake_statuspage import API_KEY, COMPONENTS, PAGE_ID, FakeStatuspage

INVESTIGATING = IncidentStatus.INVESTIGATING
MAJOR, PARTIAL, DEGRADED = ComponentStatus.MAJOR_OUTAGE, ComponentStatus.PARTIAL_OUTAGE, \
    ComponentStatus.DEGRADED_PERFORMANCE


async def test_create_then_update_the_same_incident_then_resolve(fake_statuspage: FakeStatuspage) -> None:
    page = build_status_page(settings_for(fake_statuspage), config())
    assert page.configured and isinstance(page, AtlassianStatuspage)
    try:
        ref = await page.create(draft(INVESTIGATING, "Checkout requests are failing; we are investigating.",
                                      checkout=MAJOR, api=PARTIAL))
        after_create = dict(fake_statuspage.components)
        updated = await page.update(ref, draft(IncidentStatus.IDENTIFIED, "A bad deploy; rolling back.",
                                               checkout=PARTIAL, api=DEGRADED))
        resolved = await page.resolve(ref, draft(IncidentStatus.MONITORING, "Rolled back; all good since 10:42.",
                                                 checkout=PARTIAL, api=DEGRADED))
    finally:
        await page.close()

    create, update, resolve = fake_statuspage.requests
    assert (create.method, create.path) == ("POST", f"/v1/pages/{PAGE_ID}/incidents")
    assert create.authorization == f"OAuth {API_KEY}"
    assert create.body == {"incident": {
        "name": "Checkout failing", "status": "investigating",
        "body": "Checkout requests are failing; we are investigating.", "deliver_notifications": True,
        "components": {COMPONENTS["checkout"]: "major_outage", COMPONENTS["api"]: "partial_outage"},
        "component_ids": [COMPONENTS["checkout"], COMPONENTS["api"]],
    }}
    assert (update.method, update.path) == ("PATCH", f"/v1/pages/{PAGE_ID}/incidents/{ref.id}")
    assert (resolve.method, resolve.path) == ("PATCH", f"/v1/pages/{PAGE_ID}/incidents/{ref.id}")
    assert resolve.body["incident"]["status"] == "resolved"

    assert ref.provider == "atlassian" and ref.url == f"https://stspg.io/{ref.id}"
    assert updated == ref and resolved == ref
    assert list(fake_statuspage.incidents) == [ref.id]  # one status-page incident, updated in place
    incident = fake_statuspage.incidents[ref.id]
    assert incident["status"] == "resolved" and incident["resolved_at"]
    assert [u["status"] for u in incident["incident_updates"]] == ["resolved", "identified", "investigating"]
    assert after_create[COMPONENTS["checkout"]] == "major_outage"
    assert after_create[COMPONENTS["api"]] == "partial_outage"
    assert after_create[COMPONENTS["admin"]] == "operational"  # not affected, not touched
    assert set(fake_statuspage.components.values()) == {"operational"}  # resolving brings them back


async def test_a_wrong_key_is_a_clear_error_that_never_shows_the_key(fake_statuspage: FakeStatuspage) -> None:
    page = atlassian(fake_statuspage, key="sp-wrong-key-9876543210")
    try:
        with pytest.raises(StatusPageAuthError) as refused:
            await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert "STATUSPAGE_API_KEY" in str(refused.value) and "401" in str(refused.value)
    assert "sp-wrong-key" not in str(refused.value) and "sp-wrong-key" not in repr(page)
    assert len(fake_statuspage.requests) == 1  # refused credentials are not retried
    assert fake_statuspage.incidents == {}


async def test_rate_limited_create_is_retried_after_retry_after_and_makes_one_incident(
        fake_statuspage: FakeStatuspage, caplog: pytest.LogCaptureFixture) -> None:
    fake_statuspage.fail(429, retry_after="1")
    page = atlassian(fake_statuspage)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    # Rate limited means Atlassian did nothing: the create is simply sent again, with no need to look first.
    assert fake_statuspage.calls() == [("POST", "incidents", 429), ("POST", "incidents", 201)]
    assert time.monotonic() - started >= 0.9  # it waited for Retry-After before asking again
    assert list(fake_statuspage.incidents) == [ref.id]
    assert API_KEY not in caplog.text and "retrying" in caplog.text


async def test_server_errors_are_retried_then_reported(fake_statuspage: FakeStatuspage) -> None:
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        fake_statuspage.fail(503, times=2, method="POST")
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
        fake_statuspage.fail(500, times=10)
        with pytest.raises(StatusPageUnavailable, match=r"answered 500 .* 4 times"):
            await page.update(ref, draft(IncidentStatus.IDENTIFIED, "Found it.", api=DEGRADED))
    finally:
        await page.close()

    # A 503 may hide a created incident, so each retry of the create looks for it first (none was made).
    incident, unresolved = ("POST", "incidents"), ("GET", "incidents/unresolved")
    patch = ("PATCH", f"incidents/{ref.id}")
    assert fake_statuspage.calls() == [(*incident, 503), (*unresolved, 200), (*incident, 503), (*unresolved, 200),
                                       (*incident, 201), *[(*patch, 500)] * 4]
    assert list(fake_statuspage.incidents) == [ref.id]
    assert fake_statuspage.incidents[ref.id]["status"] == "investigating"


async def test_a_retry_after_longer_than_we_wait_is_reported_at_once(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail(429, retry_after="120")
    page = atlassian(fake_statuspage)
    try:
        with pytest.raises(StatusPageUnavailable, match="try again in 120 s"):
            await page.create(draft(INVESTIGATING, "Investigating."))
    finally:
        await page.close()

    assert len(fake_statuspage.requests) == 1


async def test_refusals_say_what_was_wrong(fake_statuspage: FakeStatuspage) -> None:
    page = atlassian(fake_statuspage)
    try:
        with pytest.raises(StatusPageError, match=r"no Statuspage component ID for payments.*statuspage.components"):
            await page.create(draft(INVESTIGATING, "Investigating.", payments=MAJOR))
        with pytest.raises(StatusPageError, match=r"rejected the request \(404: The requested resource"):
            await page.update(StatusRef(provider="atlassian", id="gone12345678"), draft(INVESTIGATING, "x"))
        with pytest.raises(StatusPageError, match="was not posted to Atlassian Statuspage"):
            await page.update(StatusRef(provider="webhook", id="hook-1"), draft(INVESTIGATING, "x"))
    finally:
        await page.close()

    assert [r.status for r in fake_statuspage.requests] == [404]  # the others never left the bot
