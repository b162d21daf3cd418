"""The runbook's "Blue-Green Deployment Process", run from Slack against the real stack, step by step.

Green serves v0.9.0 behind nginx; `/deploy v1.0.0` prepares blue, a second person approves the switch,
and a load generator sends requests through nginx the whole time: not one fails.
"""

import psycopg

from bot.clock import ManualClock
from tests.engine.support import (
    APPROVER,
    DEPLOYER,
    audit,
    blocks_text,
    buttons,
    click,
    command,
    later,
    run_message,
    step_statuses,
    thread_says,
    wait_run,
)
from tests.harness.bot import BotUnderTest
from tests.stack.bluegreen import BlueGreenStack
from tests.stack.load import LoadGenerator

PREPARED = {
    "live": "done", "fetch": "done", "verify_tag": "done", "checkout": "done",  # 1. prepare blue
    "build": "done", "tag": "done", "env_file": "done",
    "start": "done", "migrate": "done", "health": "done",  # 2. deploy to blue
    "smoke": "done", "smoke_script": "skipped",  # 3. smoke tests (no smoke script configured)
    "switch": "waiting",  # 4. switch traffic: waits for a second person
    "verify": "pending", "logs": "pending", "monitor": "pending",
    "cleanup": "pending", "remove_old": "pending", "prune": "pending",
}


async def test_deploy_v1_0_0_with_approval_under_load(stack_bot: BotUnderTest, blue_green_stack: BlueGreenStack,
                                                     clock: ManualClock) -> None:
    bot, stack = stack_bot, blue_green_stack
    async with LoadGenerator(f"{stack.nginx_url}/", rps=100) as load:
        await command(bot, "/deploy", "v1.0.0", user=DEPLOYER)

        # 1–3. Blue is prepared beside green: checked out at v1.0.0, built, started, migrated, healthy.
        await wait_run(bot, 1, "waiting", timeout=240)
        assert await step_statuses(bot, 1) == PREPARED
        assert stack.served_version() == "v0.9.0"
        assert stack.served_version(f"{stack.colours['blue'].url}/health/detailed") == "v1.0.0"
        migrations = await _migrations(stack)
        assert migrations == ["20240101120000-create-orders", "20240301120000-add-order-status"]

        # 4. The switch waits; its dialog says exactly what will happen; the deployer cannot approve it.
        message = await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))
        assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == \
            "Switch production traffic from green v0.9.0 to blue v1.0.0"
        await click(bot, 1, "run_confirm", DEPLOYER)
        await click(bot, 1, "run_confirm", APPROVER)

        # Verify through nginx, show the logs, watch p95 and the error rate in Prometheus.
        run = await wait_run(bot, 1, "scheduled", timeout=120)
    assert run["error"] is None
    assert stack.served_version() == "v1.0.0"
    assert stack.state_header() is not None and stack.state_header()["colour"] == "blue"  # type: ignore[index]
    statuses = await step_statuses(bot, 1)
    assert [statuses[s] for s in ("switch", "verify", "logs", "monitor")] == ["done"] * 4
    approval = (await bot.query("SELECT requested_by, approved_by, decision FROM approvals"))[0]
    assert approval == {"requested_by": DEPLOYER, "approved_by": APPROVER, "decision": "approved"}
    clicks = {(r["actor"], r["outcome"]) for r in await audit(bot, "run_confirm")}
    assert clicks == {(DEPLOYER, "refused"), (APPROVER, "accepted")}  # the two-person rule

    report = load.report
    assert report.failures == [], report.failures[:5]
    assert report.ok > 500 and report.versions["v0.9.0"] > 0 and report.versions["v1.0.0"] > 0
    assert report.changes[0][1] == "v0.9.0" and report.changes[-1][1] == "v1.0.0"

    await thread_says(bot, 1, "nginx now sends", "healthy")
    message = await run_message(bot, 1, lambda m: "Follow-up scheduled" in blocks_text(m))
    assert "Stop the old colour at 2024-05-07" in blocks_text(message)

    # 6. After 24 hours the cleanup of green is offered, confirmed, and done.
    await later(bot, clock, hours=24)
    await wait_run(bot, 1, "waiting")
    message = await run_message(bot, 1, lambda m: "step 17" in blocks_text(m) and "run_confirm" in buttons(m))
    assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == (
        "Stop green v0.9.0 (audio-tai-loc-green) in production: it can no longer take traffic back with an "
        "immediate rollback")
    assert stack.container_status("green") == "running"
    await click(bot, 1, "run_confirm", APPROVER)
    await wait_run(bot, 1, "succeeded", timeout=120)
    assert stack.container_status("green") is None and stack.container_status("blue") == "running"
    assert stack.served_version() == "v1.0.0"


async def _migrations(stack: BlueGreenStack) -> list[str]:
    assert stack.database_url is not None
    async with await psycopg.AsyncConnection.connect(stack.database_url) as conn:
        rows = await (await conn.execute("SELECT name FROM schema_migrations ORDER BY name")).fetchall()
    return [r[0] for r in rows]
