"""Who may confirm a dangerous step, once, before it expires."""

import asyncio

from bot.clock import ManualClock
from tests.engine import handlers
from tests.engine.support import (
    ADMIN,
    APPROVER,
    DEPLOYER,
    NOBODY,
    audit,
    blocks_text,
    buttons,
    click,
    command,
    later,
    run_message,
    step_statuses,
    wait_run,
)
from tests.harness.bot import BotUnderTest


async def _waiting(bot: BotUnderTest, environment: str = "") -> dict:  # type: ignore[type-arg]
    await command(bot, "/deploy", f"v1.0.0 {environment}".strip())
    await wait_run(bot, 1, "waiting")
    return await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))


async def test_the_requester_cannot_approve_their_own_dangerous_step(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    await _waiting(bot)
    await click(bot, 1, "run_confirm", DEPLOYER)
    refusal = (await bot.fake_slack.wait_for_responses(2))[1]
    assert "two-person rule" in refusal["text"] and refusal["response_type"] == "ephemeral"
    assert refusal["replace_original"] is False
    rows = await audit(bot, "run_confirm")
    assert [(r["actor"], r["outcome"]) for r in rows] == [(DEPLOYER, "refused")]
    assert "two-person rule" in rows[0]["reason"]
    assert (await wait_run(bot, 1, "waiting")) and handlers.CALLS["switch"] == 0
    assert (await bot.query("SELECT decision FROM approvals"))[0]["decision"] == "pending"


async def test_a_user_without_a_confirming_role_is_refused(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    await _waiting(bot)
    await click(bot, 1, "run_confirm", NOBODY)
    refusal = (await bot.fake_slack.wait_for_responses(2))[1]
    assert "may not confirm" in refusal["text"] and "approver" in refusal["text"]
    assert [(r["actor"], r["outcome"]) for r in await audit(bot, "run_confirm")] == [(NOBODY, "refused")]
    await click(bot, 1, "run_abort", NOBODY)
    refusal = (await bot.fake_slack.wait_for_responses(3))[2]
    assert "may not abort" in refusal["text"]
    assert (await wait_run(bot, 1, "waiting")) and handlers.CALLS["switch"] == 0


async def test_without_the_two_person_rule_the_requester_confirms(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    message = await _waiting(bot, "staging")
    assert buttons(message)["run_confirm"]["text"]["text"].startswith("Confirm")
    assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == \
        "Switch staging traffic from green v0.9.0 to blue v1.0.0"
    await click(bot, 1, "run_confirm", DEPLOYER)
    await wait_run(bot, 1, "scheduled")
    assert handlers.CALLS["switch"] == 1
    assert [(r["actor"], r["outcome"]) for r in await audit(bot, "run_confirm")] == [(DEPLOYER, "accepted")]


async def test_ten_concurrent_clicks_run_the_step_once(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    message = await _waiting(bot)
    clickers = [APPROVER, ADMIN] * 5
    results = await asyncio.gather(*(bot.slack.block_action("run_confirm", user_id=user, message=message)
                                      for user in clickers))
    assert all(r.status == 200 for r in results)
    await wait_run(bot, 1, "scheduled")
    assert handlers.CALLS["switch"] == 1
    rows = await audit(bot, "run_confirm")
    assert sorted(r["outcome"] for r in rows) == ["accepted"] + ["refused"] * 9
    approvals = await bot.query("SELECT * FROM approvals WHERE run_id = 1")
    assert len(approvals) == 1 and approvals[0]["decision"] == "approved"
    winner = next(r["actor"] for r in rows if r["outcome"] == "accepted")
    assert approvals[0]["approved_by"] == winner
    refusals = await bot.fake_slack.wait_for_responses(10)
    assert sum("Already confirmed" in r["text"] for r in refusals[1:]) == 9


async def test_an_unanswered_confirmation_expires_and_cancels_the_run(engine_bot: BotUnderTest,
                                                                      clock: ManualClock) -> None:
    bot = engine_bot
    await _waiting(bot)
    await later(bot, clock, minutes=14, seconds=59)
    assert (await wait_run(bot, 1, "waiting"))["finished_at"] is None
    await later(bot, clock, seconds=1)
    run = await wait_run(bot, 1, "cancelled")
    assert run["error"] == "confirmation expired" and run["lock_token"] is None
    assert await step_statuses(bot, 1) == {
        "live": "done", "verify_tag": "done", "build": "done", "logs": "done", "switch": "cancelled",
        "verify": "cancelled", "cleanup": "cancelled",
    }
    assert (await bot.query("SELECT decision FROM approvals"))[0]["decision"] == "expired"
    message = await run_message(bot, 1, lambda m: "Cancelled" in blocks_text(m))
    assert "confirmation expired" in blocks_text(message) and not buttons(message)

    # A late click changes nothing; the environment is free again.
    await bot.slack.block_action("run_confirm", user_id=APPROVER, value="1:4:1", channel_id="C0DEPLOYS0")
    late = (await bot.fake_slack.wait_for_responses(2))[1]
    assert "expired" in late["text"] and handlers.CALLS["switch"] == 0
    await command(bot, "/deploy", "v1.0.0")
    await wait_run(bot, 2, "waiting")


async def test_a_click_after_the_expiry_but_before_the_timer_cancels_the_run(engine_bot: BotUnderTest,
                                                                             clock: ManualClock) -> None:
    bot = engine_bot
    await _waiting(bot)
    clock.advance(minutes=16)
    await click(bot, 1, "run_confirm", APPROVER)
    refusal = (await bot.fake_slack.wait_for_responses(2))[1]
    assert "expired" in refusal["text"]
    await wait_run(bot, 1, "cancelled")
    assert handlers.CALLS["switch"] == 0
    assert [(r["actor"], r["outcome"]) for r in await audit(bot, "run_confirm")] == [(APPROVER, "refused")]
