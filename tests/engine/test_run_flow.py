"""A run from /deploy to its follow-up: state before and after every step, the checklist message edited in
place, step output in the thread (long output as a file), the approval recorded."""

from datetime import timedelta

from bot.clock import ManualClock
from tests.engine import handlers
from tests.engine.conftest import SECRET
from tests.engine.support import (
    APPROVER,
    DEPLOYER,
    DEPLOYS,
    blocks_text,
    buttons,
    click,
    command,
    later,
    run_message,
    step_statuses,
    steps,
    thread_says,
    wait_run,
)
from tests.harness.bot import BotUnderTest


async def test_deploy_pauses_at_the_switch_and_runs_it_once_approved(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    answer = await command(bot, "/deploy", "v1.0.0")
    assert "Run #" in answer["text"] and answer.get("response_type") == "ephemeral"

    run = await wait_run(bot, 1, "waiting")
    assert run["requested_by"] == DEPLOYER and run["environment"] == "production" and run["two_person_rule"]
    assert await step_statuses(bot, 1) == {
        "live": "done", "verify_tag": "done", "build": "done", "logs": "done", "switch": "waiting",
        "verify": "pending", "cleanup": "pending",
    }
    assert handlers.CALLS["switch"] == 0

    # The message is a checklist with the confirm dialog saying exactly what will happen.
    message = await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))
    assert message["channel"] == DEPLOYS
    confirm = buttons(message)["run_confirm"]
    assert confirm["confirm"]["text"]["text"] == "Switch production traffic from green v0.9.0 to blue v1.0.0"
    assert confirm["text"]["text"].startswith("Approve")
    assert "run_abort" in buttons(message)
    assert ":white_check_mark: 3. Build the image" in blocks_text(message)
    approval = (await bot.query("SELECT * FROM approvals WHERE run_id = 1"))[0]
    assert approval["decision"] == "pending" and approval["requested_by"] == DEPLOYER
    assert approval["expires_at"] - approval["requested_at"] == timedelta(minutes=15)

    await click(bot, 1, "run_confirm", APPROVER)
    run = await wait_run(bot, 1, "scheduled")
    assert handlers.CALLS["switch"] == 1 and handlers.CALLS["verify"] == 1 and handlers.CALLS["cleanup"] == 0
    approval = (await bot.query("SELECT * FROM approvals WHERE run_id = 1"))[0]
    assert approval["decision"] == "approved" and approval["approved_by"] == APPROVER
    recorded = await steps(bot, 1)
    assert recorded["switch"]["status"] == "done" and recorded["switch"]["started_at"] is not None
    assert recorded["cleanup"]["due_at"] == recorded["verify"]["finished_at"] + timedelta(hours=24)
    message = await run_message(bot, 1, lambda m: "Follow-up scheduled" in blocks_text(m))
    assert f"approved by <@{APPROVER}>" in blocks_text(message)
    assert "run_confirm" not in buttons(message)

    # One message, edited in place; the thread has the steps and the decision.
    posts = [c for c in bot.fake_slack.calls_to("chat.postMessage") if c["channel"] == DEPLOYS
             and "thread_ts" not in c]
    assert len(posts) == 1
    await thread_says(bot, 1, "build said hello",
                      f"Approved by <@{APPROVER}>: Switch production traffic from green v0.9.0 to blue v1.0.0")

    # The environment's database password reached the step, and nowhere else.
    assert recorded["build"]["params"]["outputs"]["dsn"] == "[redacted]"  # the whole DSN is the secret
    assert SECRET not in str(await bot.query("SELECT * FROM run_steps")) + str(bot.fake_slack.calls)


async def test_long_step_output_is_uploaded_to_the_thread_as_a_file(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    await command(bot, "/deploy", "v1.0.0")
    await wait_run(bot, 1, "waiting")
    await bot.fake_slack.wait_for("files.completeUploadExternal")
    run = (await bot.query("SELECT channel, message_ts FROM runbook_runs WHERE id = 1"))[0]
    shared = [f for f in bot.fake_slack.files.values() if f["shared"]]
    assert len(shared) == 1
    assert shared[0]["name"] == "run-1-step-4-logs.log" and len(shared[0]["content"]) == 5000
    assert shared[0]["channel"] == DEPLOYS and shared[0]["thread_ts"] == run["message_ts"]
    replies = await thread_says(bot, 1, "5000 characters, attached as a file")
    assert "logs line 00001" not in replies


async def test_the_cleanup_follow_up_comes_after_its_delay_and_asks_again(engine_bot: BotUnderTest,
                                                                       clock: ManualClock) -> None:
    bot = engine_bot
    await command(bot, "/deploy", "v1.0.0")
    await click(bot, 1, "run_confirm", APPROVER)
    await wait_run(bot, 1, "scheduled")
    await later(bot, clock, hours=23, minutes=59)
    assert (await wait_run(bot, 1, "scheduled"))["lock_token"] is None
    await later(bot, clock, minutes=1)
    await wait_run(bot, 1, "waiting")
    message = await run_message(bot, 1, lambda m: "Confirm step 7" in blocks_text(m)
                                or "Approve step 7" in blocks_text(m))
    assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == "Stop green v0.9.0 in production"
    await click(bot, 1, "run_confirm", APPROVER)
    run = await wait_run(bot, 1, "succeeded")
    assert run["finished_at"] is not None and handlers.CALLS["cleanup"] == 1
    message = await run_message(bot, 1, lambda m: "Succeeded" in blocks_text(m) and not buttons(m))
    assert blocks_text(message).count(f"approved by <@{APPROVER}>") == 2  # the switch and the cleanup


async def test_a_later_run_cancels_the_follow_up(engine_bot: BotUnderTest, clock: ManualClock) -> None:
    bot = engine_bot
    await command(bot, "/deploy", "v1.0.0")
    await click(bot, 1, "run_confirm", APPROVER)
    await wait_run(bot, 1, "scheduled")
    await command(bot, "/rollback", "")
    await wait_run(bot, 2, "waiting")
    await later(bot, clock, hours=24)
    run = await wait_run(bot, 1, "cancelled")
    assert run["error"] == "superseded" and handlers.CALLS["cleanup"] == 0
