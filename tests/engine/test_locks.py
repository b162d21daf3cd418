"""One deploy or rollback at a time per environment: a Redis lock renewed while steps run, and a fencing
token that stops a run whose lock was lost before it touches the environment again."""

from pathlib import Path

from bot.clock import ManualClock
from tests.engine import handlers
from tests.engine.conftest import engine_config
from tests.engine.support import ADMIN, command, engine, eventually, runs, step_statuses, wait_run
from tests.harness.bot import BotUnderTest, MakeBot

LOCK = "atl:lock:env:production"


async def test_the_lock_outlives_its_ttl_while_a_step_runs(make_bot: MakeBot, colours: dict[str, Path],
                                                           clock: ManualClock) -> None:
    handlers.reset()
    build = handlers.gate("build")
    config = engine_config(colours)
    config["engine"]["lock_ttl"] = "2s"
    async with make_bot(config=config) as bot:
        engine(bot).use_clock(clock)
        await command(bot, "/deploy", "v1.0.0")
        await build.entered.wait()
        redis = bot.runtime.coord.redis
        seen = {"last": await redis.pttl(LOCK), "renewals": 0}

        async def renewed_three_times() -> bool:
            ttl = await redis.pttl(LOCK)
            assert ttl > 0, "the lock expired while its run was active"
            if ttl > seen["last"]:
                seen["renewals"] += 1
            seen["last"] = ttl
            return seen["renewals"] >= 3  # a third of the TTL each: by now the TTL itself has passed

        await eventually(renewed_three_times, timeout=20, what="the lock being renewed")
        answer = await command(bot, "/deploy", "v1.0.0", user=ADMIN)
        assert "production is busy" in answer["text"]
        build.open()
        await wait_run(bot, 1, "waiting")
        handlers.reset()


async def test_a_run_whose_lock_was_taken_stops_before_its_next_step(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    build = handlers.gate("build")
    await command(bot, "/deploy", "v1.0.0")
    await build.entered.wait()
    await bot.runtime.coord.redis.delete(LOCK)  # as if it expired: Redis lost it, or renewals failed
    await command(bot, "/deploy", "v1.0.0", user=ADMIN)  # takes the environment with a newer token
    second = next(r["id"] for r in await runs(bot) if r["requested_by"] == ADMIN)
    build.open()
    first = await wait_run(bot, 1, "failed")
    assert first["error"] in ("fenced off", "environment lock lost")
    statuses = await step_statuses(bot, 1)
    assert statuses["build"] == "done" and statuses["logs"] == "cancelled" and statuses["switch"] == "cancelled"
    await wait_run(bot, second, "waiting")
    assert await bot.runtime.coord.redis.exists(LOCK) == 1  # the failed run did not release the newer lock


async def test_stopping_the_bot_mid_step_leaves_the_run_failed_not_running(make_bot: MakeBot,
                                                                           colours: dict[str, Path],
                                                                           clock: ManualClock) -> None:
    handlers.reset()
    build = handlers.gate("build")
    async with make_bot(config=engine_config(colours)) as bot:
        engine(bot).use_clock(clock)
        await command(bot, "/deploy", "v1.0.0")
        await build.entered.wait()
    run = (await bot.query("SELECT * FROM runbook_runs WHERE id = 1"))[0]
    assert run["status"] == "failed" and "the bot stopped" in run["error"]
    statuses = await step_statuses(bot, 1)
    assert statuses["build"] == "failed" and statuses["logs"] == "cancelled"
    build_row = (await bot.query("SELECT summary FROM run_steps WHERE run_id = 1 AND step_id = 'build'"))[0]
    assert build_row["summary"] == "interrupted: its outcome is unknown"
    handlers.reset()


async def test_runs_left_running_by_a_dead_process_are_reaped(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    await bot.query(
        "INSERT INTO runbook_runs (id, runbook, title, environment, requested_by, status, lock_token)"
        " VALUES (41, 'deploy-blue-green', 'Test deployment', 'production', 'U0DEPLOYER', 'running', 7),"
        "        (42, 'deploy-blue-green', 'Test deployment', 'staging', 'U0DEPLOYER', 'running', 8)")
    await bot.query("INSERT INTO run_steps (run_id, position, step_id, name, handler, status) VALUES"
                    " (41, 0, 'live', 'Find the live colour', 'enginetest.step', 'running'),"
                    " (42, 0, 'live', 'Find the live colour', 'enginetest.step', 'running')")
    # Run 42's lock is still held (another process drives it); run 41's expired with its process.
    await bot.runtime.coord.acquire("env:staging", "U0DEPLOYER", 60, {"run_id": 42})
    assert await engine(bot).reap() == 1
    reaped = await wait_run(bot, 41, "failed")
    assert "restarted" in reaped["error"]
    assert (await step_statuses(bot, 41))["live"] == "failed"
    assert (await wait_run(bot, 42, "running"))["error"] is None
