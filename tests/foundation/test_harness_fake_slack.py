"""The fake Slack Web API holds the bot to Slack's rules: token, required arguments, Block Kit limits."""

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.harness import FakeSlack


def client(fake: FakeSlack, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token if token is not None else fake.token, base_url=fake.api_url)


async def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str = "confirm", value: str = "1") -> dict[str, Any]:
    return {"type": "actions", "block_id": "buttons", "elements": [
        {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "OK"}}]}


async def test_token_is_required_and_checked(fake_slack: FakeSlack) -> None:
    assert await slack_error(client(fake_slack, token="").auth_test()) == "not_authed"
    assert await slack_error(client(fake_slack, token="xoxb-wrong").auth_test()) == "invalid_auth"
    assert [c.error for c in fake_slack.rejected] == ["not_authed", "invalid_auth"]
    assert fake_slack.calls == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_message_needs_a_channel_and_content(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)

    assert await slack_error(web.chat_postMessage(channel="C0INCIDENTS")) == "no_text"
    assert await slack_error(web.chat_postMessage(channel="#incidents", text="hi")) == "channel_not_found"
    fake_slack.missing_channels.add("C0ARCHIVED0")
    assert await slack_error(web.chat_postMessage(channel="C0ARCHIVED0", text="hi")) == "channel_not_found"
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(("label", "blocks"), [
    ("51 blocks", [section("x")] * 51),
    ("3001-char section", [section("x" * 3001)]),
    ("256-char action_id", [button(action_id="a" * 256)]),
    ("2001-char button value", [button(value="v" * 2001)]),
])
async def test_block_kit_limits_are_enforced(fake_slack: FakeSlack, label: str, blocks: list[Any]) -> None:
    web = client(fake_slack)

    with pytest.raises(SlackApiError) as raised:
        await web.chat_postMessage(channel="C0INCIDENTS", text=label, blocks=blocks)

    assert raised.value.response["error"] == "invalid_blocks"
    assert raised.value.response["errors"]


async def test_blocks_at_the_limits_are_accepted(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    blocks = [section("x" * 3000)] * 49 + [button(action_id="a" * 255, value="v" * 2000)]

    posted = await web.chat_postMessage(channel="C0INCIDENTS", text="limits", blocks=blocks)

    assert posted["ok"] and fake_slack.messages[("C0INCIDENTS", posted["ts"])]["blocks"] == blocks


async def test_threads_updates_and_deletes_are_tracked(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    parent = await web.chat_postMessage(channel="C0INCIDENTS", text="P1 checkout failing")
    reply = await web.chat_postMessage(channel="C0INCIDENTS", text="acknowledged", thread_ts=parent["ts"])
    await web.chat_update(channel="C0INCIDENTS", ts=parent["ts"], text="P1 checkout failing (resolved)")

    assert [m["text"] for m in fake_slack.thread("C0INCIDENTS", parent["ts"])] == [
        "P1 checkout failing (resolved)", "acknowledged"]
    assert await slack_error(web.chat_update(channel="C0INCIDENTS", ts="1.000000", text="x")) == "message_not_found"
    await web.chat_delete(channel="C0INCIDENTS", ts=reply["ts"])
    assert ("C0INCIDENTS", reply["ts"]) not in fake_slack.messages
    await web.reactions_add(channel="C0INCIDENTS", timestamp=parent["ts"], name="eyes")
    assert await slack_error(web.reactions_add(channel="C0INCIDENTS", timestamp=parent["ts"],
                                               name="eyes")) == "already_reacted"


async def test_modals_are_checked_and_stored(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    view = {"type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": "Declare"},
            "blocks": [section("x")]}

    opened = await web.views_open(trigger_id="1.2.abc", view=view)
    too_big = await slack_error(web.views_open(trigger_id="1.2.abc", view={**view, "blocks": [section("x")] * 101}))
    no_trigger = await slack_error(web.views_open(trigger_id="", view=view))
    updated = await web.views_update(view_id=opened["view"]["id"], view={**view, "blocks": [section("y")]})

    assert (too_big, no_trigger) == ("invalid_arguments", "invalid_arguments")
    assert fake_slack.views[opened["view"]["id"]]["blocks"] == [section("y")] == updated["view"]["blocks"]


async def test_file_uploads_go_through_the_three_steps(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)

    await web.files_upload_v2(channel="C0INCIDENTS", content="step output\n" * 100, filename="output.txt",
                              title="Step output", thread_ts="1.000001")

    [stored] = fake_slack.files.values()
    assert stored["content"] == ("step output\n" * 100).encode()
    assert (stored["channel"], stored["title"], stored["thread_ts"]) == ("C0INCIDENTS", "Step output", "1.000001")
    assert [c.method for c in fake_slack.calls] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


async def test_users_and_channels_can_be_looked_up(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    fake_slack.add_user("U0ONCALL00", name="linh", tz="Asia/Ho_Chi_Minh")

    user = await web.users_info(user="U0ONCALL00")
    channel = await web.conversations_info(channel="C0INCIDENTS")

    assert (user["user"]["name"], user["user"]["tz"]) == ("linh", "Asia/Ho_Chi_Minh")
    assert channel["channel"]["id"] == "C0INCIDENTS"
    assert await slack_error(web.users_info(user="nobody")) == "user_not_found"
    assert await slack_error(web.api_call("chat.scheduleMessage", json={})) == "unknown_method"


async def test_wait_for_names_what_did_arrive(fake_slack: FakeSlack) -> None:
    await client(fake_slack).chat_postMessage(channel="C0INCIDENTS", text="one")

    assert len(await fake_slack.wait_for("chat.postMessage", count=1, timeout=1)) == 1
    with pytest.raises(AssertionError, match=r"chat\.update.*chat\.postMessage"):
        await fake_slack.wait_for("chat.update", timeout=0.2)
