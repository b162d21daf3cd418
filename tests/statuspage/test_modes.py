"""Which status page the bot uses: the generic webhook, prompts only when nothing is configured, and a
clear startup error for half a configuration. And the `statuspage:` configuration section."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.model import load_config
from bot.errors import ConfigError
from bot.statuspage import (
    ComponentStatus,
    IncidentStatus,
    NoStatusPage,
    StatusPageAuthError,
    StatusPageNotConfigured,
    StatusRef,
    WebhookStatusPage,
    build_status_page,
)
from bot.statuspage.http import retry_after_seconds
from tests.harness import write_config
from tests.statuspage.conftest import config, draft, settings_for
from tests.statuspage.fake_statuspage import COMPONENTS, WEBHOOK_TOKEN, FakeStatuspage


async def test_the_webhook_gets_every_draft_with_its_ref(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.webhook_token = WEBHOOK_TOKEN
    page = build_status_page(settings_for(None, key=WEBHOOK_TOKEN, page_id=None),
                             config(webhook_url=fake_statuspage.webhook_url))
    assert page.configured and isinstance(page, WebhookStatusPage)
    try:
        ref = await page.create(draft(IncidentStatus.INVESTIGATING, "Investigating.",
                                      checkout=ComponentStatus.MAJOR_OUTAGE))
        await page.update(ref, draft(IncidentStatus.MONITORING, "Fix deployed.",
                                     checkout=ComponentStatus.DEGRADED_PERFORMANCE))
        await page.resolve(ref, draft(IncidentStatus.MONITORING, "All good.",
                                      checkout=ComponentStatus.DEGRADED_PERFORMANCE))
    finally:
        await page.close()

    assert ref == StatusRef(provider="webhook", id="hook-1", url="https://status.example/hook-1")
    create, update, resolve = fake_statuspage.webhook_bodies
    keys = [body.pop("idempotency_key") for body in (create, update, resolve)]
    assert [r.idempotency_key for r in fake_statuspage.requests] == keys and len(set(keys)) == 3
    assert create == {"action": "create", "ref": None, "draft": {
        "status": "investigating", "title": "Checkout failing", "message": "Investigating.",
        "components": [{"name": "checkout", "status": "major_outage"}]}}
    assert update["action"] == "update" and update["ref"] == ref.model_dump()
    assert update["draft"]["status"] == "monitoring"
    assert resolve["action"] == "resolve" and resolve["ref"] == ref.model_dump()
    assert resolve["draft"]["status"] == "resolved"
    assert resolve["draft"]["components"] == [{"name": "checkout", "status": "operational"}]
    assert {r.authorization for r in fake_statuspage.requests} == {f"Bearer {WEBHOOK_TOKEN}"}


async def test_a_webhook_that_refuses_our_token_says_so(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.webhook_token = WEBHOOK_TOKEN
    page = build_status_page(settings_for(None, key="not-the-token", page_id=None),
                             config(webhook_url=fake_statuspage.webhook_url))
    try:
        with pytest.raises(StatusPageAuthError, match="status-page webhook refused our credentials"):
            await page.create(draft(IncidentStatus.INVESTIGATING, "Investigating."))
    finally:
        await page.close()
    assert fake_statuspage.webhook_bodies == []


async def test_without_a_status_page_the_bot_only_prompts(fake_statuspage: FakeStatuspage) -> None:
    page = build_status_page(settings_for(fake_statuspage, key=None, page_id=None), config())
    some = draft(IncidentStatus.INVESTIGATING, "Investigating.", api=ComponentStatus.MAJOR_OUTAGE)

    assert isinstance(page, NoStatusPage) and page.configured is False
    with pytest.raises(StatusPageNotConfigured, match=r"not configured.*copy the draft.*STATUSPAGE_API_KEY"):
        await page.create(some)
    with pytest.raises(StatusPageNotConfigured):
        await page.update(StatusRef(provider="atlassian", id="x"), some)
    with pytest.raises(StatusPageNotConfigured):
        await page.resolve(StatusRef(provider="atlassian", id="x"), some)
    await page.close()
    assert fake_statuspage.requests == []


@pytest.mark.parametrize(("key", "page_id", "webhook", "names"), [
    ("sp-key", None, False, "STATUSPAGE_PAGE_ID is not set"),
    (None, "kctbh9vrtdwd", False, "STATUSPAGE_API_KEY is not set"),
    ("sp-key", "kctbh9vrtdwd", True, "STATUSPAGE_PAGE_ID is set and so is statuspage.webhook_url"),
    ("sp-key", "pages/../x", False, "STATUSPAGE_PAGE_ID is invalid"),
], ids=["key without page", "page without key", "atlassian and webhook", "bad page id"])
def test_half_a_configuration_stops_startup_naming_the_variable(key: str | None, page_id: str | None,
                                                                webhook: bool, names: str) -> None:
    section = config(webhook_url="http://127.0.0.1:9/hook") if webhook else config()
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        build_status_page(settings_for(None, key=key, page_id=page_id), section)


def test_the_statuspage_section_has_defaults_and_is_validated(tmp_path: Path) -> None:
    default = load_config(write_config(tmp_path / "default.yml")).statuspage
    custom = load_config(write_config(tmp_path / "custom.yml", {"statuspage": {
        "components": COMPONENTS, "auto_resolve": True, "prompt_every_minutes": {"P1": 10, "P3": 60}}})).statuspage

    assert default.components == {} and default.auto_resolve is False and default.webhook_url is None
    assert default.deliver_notifications is True
    assert [default.prompt_every_minutes.for_severity(s) for s in ("P1", "P2", "P3", "P4")] == [
        timedelta(minutes=20), timedelta(minutes=30), None, None]
    assert custom.components["checkout"] == COMPONENTS["checkout"] and custom.auto_resolve is True
    assert custom.prompt_every_minutes.for_severity("P1") == timedelta(minutes=10)
    assert custom.prompt_every_minutes.for_severity("P2") == timedelta(minutes=30)
    assert custom.prompt_every_minutes.for_severity("P3") == timedelta(minutes=60)

    with pytest.raises(ConfigError, match=r"statuspage\.components\.checkout"):
        load_config(write_config(tmp_path / "bad.yml", {"statuspage": {"components": {"checkout": "Not An ID!"}}}))
    with pytest.raises(ConfigError, match=r"statuspage\.prompt_every_minutes\.P1"):
        load_config(write_config(tmp_path / "bad2.yml", {"statuspage": {"prompt_every_minutes": {"P1": 0}}}))
    with pytest.raises(ConfigError, match=r"statuspage\.autoresolve: unknown key"):
        load_config(write_config(tmp_path / "bad3.yml", {"statuspage": {"autoresolve": True}}))


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Mon, 06 May 2024 02:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 06 May 2024 01:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
