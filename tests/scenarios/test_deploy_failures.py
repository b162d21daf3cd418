"""A broken release never takes traffic: its health check fails, the run stops before the switch."""

from tests.engine.support import DEPLOYER, blocks_text, buttons, command, run_message, step_statuses, wait_run
from tests.harness.bot import BotUnderTest
from tests.stack.bluegreen import BlueGreenStack
from tests.stack.load import LoadGenerator


async def test_a_failing_health_check_stops_the_run_before_the_switch(stack_bot: BotUnderTest,
                                                                     blue_green_stack: BlueGreenStack) -> None:
    bot, stack = stack_bot, blue_green_stack
    header_before = stack.site_path.read_text()
    async with LoadGenerator(f"{stack.nginx_url}/", rps=50) as load:
        await command(bot, "/deploy", "v1.1.0-broken", user=DEPLOYER)
        run = await wait_run(bot, 1, "failed", "waiting", timeout=240)
    assert run["status"] == "failed" and run["error"].startswith("step 10 health:")
    assert run["rollback_runbook"] is None and run["lock_token"] is None
    statuses = await step_statuses(bot, 1)
    assert statuses["start"] == "done" and statuses["health"] == "failed"
    assert {statuses[s] for s in ("smoke", "switch", "verify", "monitor", "cleanup")} == {"cancelled"}
    assert await bot.query("SELECT * FROM approvals") == []

    # Nothing was switched: nginx's file is untouched and every request was answered by green v0.9.0.
    assert stack.site_path.read_text() == header_before
    assert stack.served_version() == "v0.9.0"
    assert load.report.failures == [] and set(load.report.versions) == {"v0.9.0"}
    message = await run_message(bot, 1, lambda m: "Failed" in blocks_text(m))
    assert ":x: 10. Health check the new colour directly" in blocks_text(message)
    assert "run_confirm" not in buttons(message) and "run_rollback" not in buttons(message)
