"""The bot's Slack Web API client: SLACK_API_URL, and slack_sdk's retries for 429 (Retry-After) and 5xx."""

import time

import pytest
from slack_sdk.errors import SlackApiError

from bot.settings import Settings
from bot.slack.client import make_client
from tests.harness import FakeSlack


def settings_for(fake: FakeSlack) -> Settings:
    return Settings(slack_bot_token=fake.token, slack_api_url=fake.api_url)  # type: ignore[arg-type]


async def test_rate_limited_call_is_retried_after_retry_after(fake_slack: FakeSlack) -> None:
    client = make_client(settings_for(fake_slack))
    fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=1)

    started = time.monotonic()
    response = await client.chat_postMessage(channel="C0INCIDENTS", text="P1: checkout failing")
    waited = time.monotonic() - started

    assert response["ok"] is True
    assert len(fake_slack.throttled) == 1
    assert fake_slack.calls_to("chat.postMessage") == [{"channel": "C0INCIDENTS", "text": "P1: checkout failing"}]
    assert fake_slack.messages[("C0INCIDENTS", response["ts"])]["text"] == "P1: checkout failing"
    # Not a timing benchmark: only that Retry-After was honoured rather than retrying at once.
    assert waited >= 1


async def test_server_errors_are_retried(fake_slack: FakeSlack) -> None:
    client = make_client(settings_for(fake_slack))
    fake_slack.fail("chat.update", status=503, times=1)
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="before")

    response = await client.chat_update(channel="C0INCIDENTS", ts=posted["ts"], text="after")

    assert response["ok"] is True and len(fake_slack.throttled) == 1
    assert fake_slack.messages[("C0INCIDENTS", posted["ts"])]["text"] == "after"


async def test_client_gives_up_after_its_retries(fake_slack: FakeSlack) -> None:
    client = make_client(settings_for(fake_slack))
    fake_slack.fail("reactions.add", status=429, retry_after=0, times=10)

    with pytest.raises(SlackApiError) as raised:
        await client.reactions_add(channel="C0INCIDENTS", timestamp="1.000001", name="eyes")

    assert raised.value.response.status_code == 429
    assert len(fake_slack.throttled) == 4  # the call and three retries
    assert fake_slack.calls_to("reactions.add") == []


async def test_client_uses_the_configured_base_url_and_token(fake_slack: FakeSlack) -> None:
    client = make_client(settings_for(fake_slack))

    identity = await client.auth_test()

    assert identity["ok"] is True and identity["user_id"]
    assert [c.method for c in fake_slack.calls] == ["auth.test"]
