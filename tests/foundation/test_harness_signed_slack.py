"""The signing client sends what Slack sends: Bolt parses its block_actions and view_submission payloads,
and the bot's replies reach the fake response_url."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from tests.harness import BotUnderTest


async def test_block_action_from_a_posted_message(bot: BotUnderTest) -> None:
    seen: list[dict[str, Any]] = []

    async def on_click(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        seen.append(body)
        await respond(text=f"clicked {body['actions'][0]['value']}", replace_original=False)

    bot.bolt.action("harness_confirm")(on_click)
    posted = await bot.runtime.slack.chat_postMessage(channel="C0DEPLOYS0", text="Deploy v1.0.0?", blocks=[
        {"type": "actions", "block_id": "confirm_block", "elements": [
            {"type": "button", "action_id": "harness_confirm", "value": "run-42",
             "text": {"type": "plain_text", "text": "Confirm"}}]}])
    message = bot.fake_slack.messages[("C0DEPLOYS0", posted["ts"])]

    result = await bot.slack.block_action("harness_confirm", user_id="U0APPROVER", message=message)

    assert result.status == 200
    [body] = seen
    assert body["user"]["id"] == "U0APPROVER"
    assert body["channel"]["id"] == "C0DEPLOYS0" and body["container"]["message_ts"] == posted["ts"]
    assert body["actions"][0]["block_id"] == "confirm_block"
    assert [r["text"] for r in await bot.fake_slack.wait_for_responses(1)] == ["clicked run-42"]


async def test_view_submission_carries_state_and_metadata(bot: BotUnderTest) -> None:
    seen: list[dict[str, Any]] = []

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        seen.append(view)
        await ack(response_action="errors", errors={"title": "too short"})

    bot.bolt.view("harness_declare")(on_submit)

    result = await bot.slack.view_submission(
        "harness_declare", {"title": {"input": "db"}, "sev": {"pick": {"type": "static_select",
                                                                      "selected_option": {"value": "P2"}}}},
        user_id="U0ADMIN000", private_metadata='{"channel": "C0INCIDENTS"}')

    assert result.status == 200 and result.json == {"response_action": "errors", "errors": {"title": "too short"}}
    [view] = seen
    assert view["state"]["values"]["title"]["input"]["value"] == "db"
    assert view["state"]["values"]["sev"]["pick"]["selected_option"]["value"] == "P2"
    assert view["private_metadata"] == '{"channel": "C0INCIDENTS"}'


async def test_unhandled_interaction_is_not_executed(bot: BotUnderTest) -> None:
    result = await bot.slack.block_action("no_such_action", value="x")

    assert result.status == 404
    assert bot.fake_slack.responses == [] and bot.fake_slack.calls == []
