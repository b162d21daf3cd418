"""A failed step stops the run and offers its rollback; Abort works between steps; runs of an incident are
on its timeline."""

from datetime import UTC, datetime

from bot.incidents.severity import Severity
from bot.store import incidents as incident_rows
from bot.store.incidents import NewIncident
from tests.engine import handlers
from tests.engine.support import (
    ADMIN,
    APPROVER,
    DEPLOYER,
    audit,
    blocks_text,
    buttons,
    click,
    command,
    run_message,
    step_statuses,
    steps,
    thread_says,
    wait_run,
)
from tests.harness.bot import BotUnderTest


async def test_a_failed_step_stops_the_run_and_offers_its_rollback(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    handlers.gate("verify").open(ok=False, summary="/health reports v0.9.0, expected v1.0.0")
    await command(bot, "/deploy", "v1.0.0")
    await click(bot, 1, "run_confirm", APPROVER)
    run = await wait_run(bot, 1, "failed")
    assert run["rollback_runbook"] == "rollback-immediate" and run["lock_token"] is None
    assert "verify" in run["error"] and "/health reports v0.9.0" in run["error"]
    assert (await step_statuses(bot, 1))["cleanup"] == "cancelled" and handlers.CALLS["cleanup"] == 0
    message = await run_message(bot, 1, lambda m: "run_rollback" in buttons(m))
    assert buttons(message)["run_rollback"]["text"]["text"] == "Run rollback-immediate"
    assert ":x: 6. Verify the new version" in blocks_text(message)
    await thread_says(bot, 1, "/health reports v0.9.0, expected v1.0.0", "rollback-immediate is offered")

    await click(bot, 1, "run_rollback", DEPLOYER)
    rollback = await wait_run(bot, 2, "waiting")
    assert rollback["runbook"] == "rollback-immediate" and rollback["started_from_run"] == 1
    assert (await wait_run(bot, 1, "failed"))["rollback_run_id"] == 2
    message = await run_message(bot, 2, lambda m: "run_confirm" in buttons(m))
    assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == \
        "Switch production traffic back from blue to green"
    await run_message(bot, 1, lambda m: "started as run #2" in blocks_text(m))

    await bot.slack.block_action("run_rollback", user_id=ADMIN, value="1", channel_id="C0DEPLOYS0")
    again = (await bot.fake_slack.wait_for_responses(2))[1]
    assert "already started" in again["text"]
    assert [r["outcome"] for r in await audit(bot, "run_rollback")] == ["accepted", "refused"]


async def test_abort_between_steps_lets_the_running_step_finish_and_runs_nothing_after(
        engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    build = handlers.gate("build")
    await command(bot, "/deploy", "v1.0.0")
    await build.entered.wait()
    # Persisted before the step: it is running, the steps before it are done.
    recorded = await steps(bot, 1)
    assert recorded["build"]["status"] == "running" and recorded["build"]["started_at"] is not None
    assert [recorded[s]["status"] for s in ("live", "verify_tag", "logs")] == ["done", "done", "pending"]
    assert recorded["verify_tag"]["summary"].startswith("tag v1.0.0 is ")

    await click(bot, 1, "run_abort", DEPLOYER)
    await run_message(bot, 1, lambda m: "abort requested by" in blocks_text(m))
    run = await wait_run(bot, 1, "running")
    assert run["abort_requested_by"] == DEPLOYER
    build.open()
    run = await wait_run(bot, 1, "aborted")
    assert run["finished_by"] == DEPLOYER
    assert await step_statuses(bot, 1) == {
        "live": "done", "verify_tag": "done", "build": "done", "logs": "cancelled", "switch": "cancelled",
        "verify": "cancelled", "cleanup": "cancelled",
    }
    assert handlers.CALLS["logs"] == 0
    await run_message(bot, 1, lambda m: "Aborted" in blocks_text(m) and not buttons(m))
    await command(bot, "/deploy", "v1.0.0")  # the environment is free again
    await wait_run(bot, 2, "waiting")


async def test_abort_while_waiting_for_confirmation_ends_the_run_at_once(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    await command(bot, "/deploy", "v1.0.0")
    await wait_run(bot, 1, "waiting")
    await click(bot, 1, "run_abort", APPROVER)
    run = await wait_run(bot, 1, "aborted")
    assert run["finished_by"] == APPROVER and handlers.CALLS["switch"] == 0
    assert (await bot.query("SELECT decision FROM approvals"))[0]["decision"] == "cancelled"


async def test_a_run_of_an_incident_goes_on_its_timeline_with_who_approved(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    async with bot.runtime.store.transaction() as tx:
        incident = await incident_rows.insert(tx, NewIncident(Severity.P1, "checkout failing", "declared",
                                                              datetime(2024, 5, 6, 1, 50, tzinfo=UTC)))
        await incident_rows.set_header(tx, incident.id, "C0INCIDENTS", 0)
    await command(bot, "/rollback", "", channel="C0INCIDENTS")
    run = await wait_run(bot, 1, "waiting")
    assert run["incident_id"] == incident.id
    await click(bot, 1, "run_confirm", ADMIN)
    await wait_run(bot, 1, "succeeded")
    timeline = await bot.query("SELECT kind, actor, text FROM timeline_events WHERE incident_id = %s ORDER BY id",
                               incident.id)
    assert [(e["kind"], e["actor"]) for e in timeline] == [
        ("run_started", DEPLOYER), ("run_approved", ADMIN), ("run_finished", None)]
    assert "Switch production traffic back from blue to green" in timeline[1]["text"]
    approval = (await bot.query("SELECT approved_by, decided_at FROM approvals"))[0]
    assert approval["approved_by"] == ADMIN and approval["decided_at"] is not None
