"""Inputs are checked before anything runs; anything wrong gets an ephemeral error, an audit row, no run."""

from pathlib import Path

from tests.engine import handlers
from tests.engine.conftest import engine_config, environment
from tests.engine.support import ADMIN, DEPLOYER, NOBODY, audit, command, runs, wait_run
from tests.harness.bot import BotUnderTest


async def _refused(bot: BotUnderTest, cmd: str, text: str, user: str = DEPLOYER) -> dict:  # type: ignore[type-arg]
    answer = await command(bot, cmd, text, user)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert "Correct form" in answer["text"] or "Correct form" in str(answer.get("blocks"))
    rows = [r for r in await audit(bot, cmd) if r["detail"] == text]
    assert rows and rows[-1]["outcome"] == "refused", rows
    return answer


async def test_bad_versions_environments_tags_roles_and_migrations_are_refused(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    answer = await _refused(bot, "/deploy", "1.0")
    # The environment's tag_pattern decides, and the answer shows its form.
    assert "`1.0` is not a release tag production deploys (expected one matching ^v\\d+" in answer["text"]
    assert "not a release tag" in (await _refused(bot, "/deploy", "v1.0.0;rm"))["text"]
    answer = await _refused(bot, "/deploy", "v1.0.0 qa")
    assert "Environment 'qa' is not configured (configured: production, staging)" in answer["text"]
    answer = await _refused(bot, "/deploy", "v9.9.9")
    assert "Tag v9.9.9 does not exist in origin" in answer["text"]
    answer = await _refused(bot, "/deploy", "v1.0.0", user=NOBODY)
    assert f"<@{NOBODY}> does not have the deployer role" in answer["text"]
    assert "not a migration name" in (await _refused(bot, "/rollback", "db --to drop-everything"))["text"]
    assert await runs(bot) == []
    assert handlers.CALLS == {}


async def test_a_second_deploy_is_refused_naming_who_holds_the_environment(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    build = handlers.gate("build")
    await command(bot, "/deploy", "v1.0.0")
    await build.entered.wait()
    answer = await _refused(bot, "/deploy", "v1.0.0", user=ADMIN)
    assert f"production is busy: <@{DEPLOYER}> is running deploy-blue-green v1.0.0 (run #1) since 2024-05-06 09:00:00" \
        in answer["text"]
    answer = await _refused(bot, "/rollback", "", user=ADMIN)
    assert "production is busy" in answer["text"]
    # Another environment is another lock.
    await command(bot, "/deploy", "v1.0.0 staging", user=ADMIN)
    staging = [r for r in await runs(bot) if r["environment"] == "staging"]
    assert len(staging) == 1
    build.open()
    await wait_run(bot, staging[0]["id"], "waiting")
    await wait_run(bot, 1, "waiting")
    assert len(await runs(bot)) == 2


async def test_plan_shows_every_step_and_runs_nothing(engine_bot: BotUnderTest) -> None:
    bot = engine_bot
    answer = await command(bot, "/deploy", "plan v1.0.0")
    text = str(answer["blocks"])
    assert "Plan: Test deployment in production" in text and "Switch traffic to the new colour" in text
    assert "DANGEROUS" in text and "Nothing has run" in text
    assert "`1.0` is not a release tag production deploys" in (await _refused(bot, "/deploy", "plan 1.0"))["text"]
    assert "is not configured" in (await _refused(bot, "/deploy", "plan v1.0.0 qa"))["text"]
    assert await runs(bot) == []
    assert handlers.CALLS == {}


async def test_each_environment_deploys_the_tags_its_own_pattern_allows(make_bot, colours: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    config = engine_config(colours)
    config["environments"]["staging"] = environment(colours, tag_pattern=r"^release-\d{8}$")
    async with make_bot(config=config) as bot:
        answer = await command(bot, "/deploy", "plan release-20240506 staging")
        assert "Plan: Test deployment in staging" in str(answer["blocks"]), answer
        refused = await _refused(bot, "/deploy", "plan v1.0.0 staging")
        assert "`v1.0.0` is not a release tag staging deploys (expected one matching ^release-\\d{8}$" \
            in refused["text"]
        # Production keeps the default form, for /rollback full too.
        refused = await _refused(bot, "/deploy", "plan release-20240506")
        assert "`release-20240506` is not a release tag production deploys" in refused["text"]
        assert "not a release tag staging deploys" in (await _refused(bot, "/rollback", "full v0.9.0 staging"))["text"]
        assert await runs(bot) == []
