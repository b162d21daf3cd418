"""The runbook's "Rollback Procedures" from Slack against the real stack: the immediate rollback after a
deploy (nginx back to green, blue stopped) and the database rollback of the last migration."""

import psycopg

from bot.clock import ManualClock
from tests.engine.support import (
    ADMIN,
    APPROVER,
    DEPLOYER,
    buttons,
    click,
    command,
    later,
    run_message,
    step_statuses,
    wait_run,
)
from tests.harness.bot import BotUnderTest
from tests.stack.bluegreen import BlueGreenStack
from tests.stack.load import LoadGenerator


async def _deployed(bot: BotUnderTest) -> None:
    await command(bot, "/deploy", "v1.0.0", user=DEPLOYER)
    await wait_run(bot, 1, "waiting", timeout=240)
    await click(bot, 1, "run_confirm", APPROVER)
    await wait_run(bot, 1, "scheduled", timeout=120)


async def test_rollback_round_trip_back_to_the_old_colour(stack_bot: BotUnderTest, blue_green_stack: BlueGreenStack,
                                                         clock: ManualClock) -> None:
    bot, stack = stack_bot, blue_green_stack
    await _deployed(bot)
    assert stack.served_version() == "v1.0.0"

    async with LoadGenerator(f"{stack.nginx_url}/", rps=100) as load:
        await command(bot, "/rollback", "", user=DEPLOYER)
        await wait_run(bot, 2, "waiting", timeout=60)
        message = await run_message(bot, 2, lambda m: "run_confirm" in buttons(m))
        assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == \
            "Switch production traffic back from blue v1.0.0 to green and stop blue"
        await click(bot, 2, "run_confirm", ADMIN)
        run = await wait_run(bot, 2, "succeeded", "failed", timeout=120)
    assert run["status"] == "succeeded", run["error"]
    assert await step_statuses(bot, 2) == {"live": "done", "previous_health": "done", "switch_back": "done",
                                           "verify": "done", "stop_bad": "done"}
    assert stack.served_version() == "v0.9.0"
    assert stack.state_header()["colour"] == "green"  # type: ignore[index]
    assert stack.container_status("blue") == "exited" and stack.container_status("green") == "running"
    assert load.report.failures == [] and load.report.ok > 100
    assert load.report.changes[0][1] == "v1.0.0" and load.report.changes[-1][1] == "v0.9.0"

    # The deploy's cleanup would now stop the live colour: when it comes due it is cancelled instead.
    await later(bot, clock, hours=24)
    deploy = await wait_run(bot, 1, "cancelled")
    assert deploy["error"] == "superseded"
    assert stack.container_status("green") == "running"


async def test_database_rollback_of_the_last_migration(stack_bot: BotUnderTest,
                                                        blue_green_stack: BlueGreenStack) -> None:
    bot, stack = stack_bot, blue_green_stack
    await command(bot, "/rollback", "db", user=DEPLOYER)
    await wait_run(bot, 1, "waiting", timeout=60)
    message = await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))
    assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == \
        "Roll back the last database migration of production (from audio-tai-loc-green, v0.9.0)"
    await click(bot, 1, "run_confirm", APPROVER)
    await wait_run(bot, 1, "succeeded", timeout=60)
    assert await step_statuses(bot, 1) == {"live": "done", "status": "done", "rollback_last": "done",
                                           "rollback_to": "skipped", "status_after": "done"}
    steps = {r["step_id"]: r for r in await bot.query("SELECT * FROM run_steps WHERE run_id = 1")}
    assert "up   20240101120000-create-orders" in steps["status"]["output"]
    assert "down 20240101120000-create-orders" in steps["status_after"]["output"]
    assert stack.database_url is not None
    async with await psycopg.AsyncConnection.connect(stack.database_url) as conn:
        assert await (await conn.execute("SELECT count(*) FROM schema_migrations")).fetchone() == (0,)
