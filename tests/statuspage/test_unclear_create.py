"""A create whose outcome we did not learn (a 5xx, a dropped connection, a timeout) must not become a second
public incident: Atlassian's retry first looks for the incident and adopts it; the webhook's retry carries
the same idempotency key, so the receiver can tell it is the same create."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from bot.statuspage import (
    ComponentStatus,
    IncidentStatus,
    StatusPageOutcomeUnknown,
    StatusPageUnavailable,
    StatusRef,
    WebhookStatusPage,
)
from tests.statuspage.conftest import atlassian, draft
from tests.statuspage.fake_statuspage import API_KEY, FakeStatuspage

INVESTIGATING, MAJOR = IncidentStatus.INVESTIGATING, ComponentStatus.MAJOR_OUTAGE
CREATE, UNRESOLVED = ("POST", "incidents"), ("GET", "incidents/unresolved")

AMBIGUOUS: dict[str, Callable[[FakeStatuspage], None]] = {
    "500 after creating it": lambda fake: fake.fail(500, method="POST", after_applying=True),
    "connection dropped after creating it": lambda fake: fake.drop(method="POST"),
    "timed out after creating it": lambda fake: fake.hang(method="POST"),
}


@pytest.mark.parametrize("failure", list(AMBIGUOUS), ids=list(AMBIGUOUS))
async def test_a_create_that_landed_but_failed_is_adopted_not_posted_twice(
        fake_statuspage: FakeStatuspage, caplog: pytest.LogCaptureFixture, failure: str) -> None:
    AMBIGUOUS[failure](fake_statuspage)
    page = atlassian(fake_statuspage, retry_base=0.01, timeout=0.5)
    caplog.set_level(logging.DEBUG)
    try:
        ref = await page.create(draft(INVESTIGATING, "Checkout requests are failing.", checkout=MAJOR))
        # The adopted incident is ours from now on: updates go to it.
        await page.update(ref, draft(IncidentStatus.IDENTIFIED, "A bad deploy; rolling back.", checkout=MAJOR))
    finally:
        await page.close()

    [made] = fake_statuspage.incidents  # exactly one public incident
    assert ref == StatusRef(provider="atlassian", id=made, url=f"https://stspg.io/{made}")
    assert [call[:2] for call in fake_statuspage.calls()] == [CREATE, UNRESOLVED, ("PATCH", f"incidents/{made}")]
    assert fake_statuspage.incidents[made]["status"] == "identified"
    [adopted] = [r for r in caplog.records if r.getMessage().startswith("adopted the status-page incident")]
    assert adopted.__dict__["incident_id"] == made and adopted.__dict__["incident_name"] == "Checkout failing"
    assert API_KEY not in caplog.text


async def test_a_500_that_made_nothing_is_posted_again_once(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail(500, method="POST")
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert fake_statuspage.calls() == [(*CREATE, 500), (*UNRESOLVED, 200), (*CREATE, 201)]
    assert list(fake_statuspage.incidents) == [ref.id]


async def test_once_an_attempt_was_unclear_even_a_rate_limited_retry_looks_first(
        fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail(502, method="POST")
    fake_statuspage.fail(429, retry_after="0", method="POST")
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    # The 502'd create could still land late; the 429 says nothing about it.
    assert fake_statuspage.calls() == [(*CREATE, 502), (*UNRESOLVED, 200), (*CREATE, 429), (*UNRESOLVED, 200),
                                       (*CREATE, 201)]
    assert list(fake_statuspage.incidents) == [ref.id]


async def test_when_the_lookup_fails_it_stops_and_says_to_check_the_page(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail(500, method="POST", after_applying=True)
    fake_statuspage.fail(503, times=10, method="GET")
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        with pytest.raises(StatusPageOutcomeUnknown) as stopped:
            await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert isinstance(stopped.value, StatusPageUnavailable)
    message = str(stopped.value)
    assert "may have created the incident 'Checkout failing'" in message and "HTTP 500" in message
    assert "Check the page for it before posting again" in message
    first, *lookups = fake_statuspage.calls()
    assert first == (*CREATE, 500)
    assert lookups and set(lookups) == {(*UNRESOLVED, 503)}  # and no second POST
    assert len(fake_statuspage.incidents) == 1


async def test_a_same_named_incident_from_before_our_first_attempt_is_not_adopted(
        fake_statuspage: FakeStatuspage) -> None:
    now = datetime.now(UTC)
    older = fake_statuspage.seed("Checkout failing", created_at=now - timedelta(minutes=10))
    other = fake_statuspage.seed("Login slow", created_at=now)
    fake_statuspage.fail(500, method="POST")
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert fake_statuspage.calls() == [(*CREATE, 500), (*UNRESOLVED, 200), (*CREATE, 201)]
    assert ref.id not in (older, other)
    assert fake_statuspage.incidents[ref.id]["name"] == "Checkout failing"


async def test_an_incident_stamped_by_a_clock_a_minute_behind_ours_is_still_adopted(
        fake_statuspage: FakeStatuspage) -> None:
    # Our first attempt landed, but Statuspage's clock runs a minute behind ours.
    skewed = fake_statuspage.seed("Checkout failing", created_at=datetime.now(UTC) - timedelta(minutes=1))
    fake_statuspage.fail(500, method="POST")
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert ref.id == skewed
    assert fake_statuspage.calls() == [(*CREATE, 500), (*UNRESOLVED, 200)]


async def test_even_the_last_attempt_is_checked_before_giving_up(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail(500, times=3, method="POST")
    fake_statuspage.fail(500, method="POST", after_applying=True)
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert fake_statuspage.calls() == [(*CREATE, 500), (*UNRESOLVED, 200)] * 4
    assert list(fake_statuspage.incidents) == [ref.id]


async def test_giving_up_after_unclear_attempts_says_an_incident_may_exist(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail(500, times=4, method="POST")
    page = atlassian(fake_statuspage, retry_base=0.01)
    try:
        with pytest.raises(StatusPageOutcomeUnknown, match=r"answered 500 .* 4 times.*may still have created it: "
                                                           r"check the page .* 'Checkout failing' before posting"):
            await page.create(draft(INVESTIGATING, "Investigating.", api=MAJOR))
    finally:
        await page.close()

    assert fake_statuspage.calls() == [(*CREATE, 500), (*UNRESOLVED, 200)] * 4
    assert fake_statuspage.incidents == {}


@pytest.mark.parametrize("dropped", [False, True], ids=["500 after creating it", "connection dropped after it"])
async def test_webhook_retries_of_a_create_carry_the_same_idempotency_key(
        fake_statuspage: FakeStatuspage, dropped: bool) -> None:
    if dropped:
        fake_statuspage.drop(method="POST")
    else:
        fake_statuspage.fail(500, method="POST", after_applying=True)
    page = WebhookStatusPage(url=fake_statuspage.webhook_url, token=SecretStr("unused"), retry_base=0.01)
    try:
        ref = await page.create(draft(INVESTIGATING, "Investigating.", checkout=MAJOR))
        await page.update(ref, draft(IncidentStatus.MONITORING, "Fix deployed.", checkout=MAJOR))
    finally:
        await page.close()

    first, retry, update = fake_statuspage.requests
    assert (first.status, retry.status, update.status) == (0 if dropped else 500, 200, 200)
    assert first.idempotency_key and first.idempotency_key == retry.idempotency_key
    assert first.body == retry.body and first.body["idempotency_key"] == first.idempotency_key
    assert update.idempotency_key not in (None, first.idempotency_key)  # a new request, a new key
    # The receiver de-duplicated by the key: one incident, and the ref names it.
    assert fake_statuspage.webhook_incidents == {first.idempotency_key: "hook-1"}
    assert ref == StatusRef(provider="webhook", id="hook-1", url="https://status.example/hook-1")
