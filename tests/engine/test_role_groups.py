"""Roles may name Slack user groups (S…): their members deploy, approve and abort; a group Slack cannot
describe counts for nobody and the refusal says which group and what to do. Members are read with
usergroups.users.list and kept for a minute; people listed by user ID never cost a Slack call."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.engine import handlers
from tests.engine.conftest import engine_config
from tests.engine.support import (
    DEPLOYER,
    NOBODY,
    audit,
    buttons,
    click,
    command,
    on_clock,
    run_message,
    wait_run,
)
from tests.harness.bot import BotUnderTest, MakeBot

DEPLOYERS, APPROVERS, GHOSTS = "S0DEPLOYS00", "S0APPROVE0", "S0GHOST000"
ALICE, BOB = "U0ALICE000", "U0BOB00000"  # listed nowhere by ID: only through their groups


@asynccontextmanager
async def group_bot(make_bot: MakeBot, colours: dict[str, Path], clock: ManualClock,
                    **roles: list[str]) -> AsyncIterator[BotUnderTest]:
    handlers.reset()
    config: dict[str, Any] = engine_config(colours, roles=roles)
    async with make_bot(config=config) as bot, on_clock(bot, clock):
        try:
            yield bot
        finally:
            handlers.reset()


def group_reads(bot: BotUnderTest) -> list[str]:
    """Every usergroups.users.list the bot made, answered or refused, by group."""
    return [c.args["usergroup"] for c in [*bot.fake_slack.calls, *bot.fake_slack.rejected, *bot.fake_slack.throttled]
            if c.method == "usergroups.users.list"]


async def test_a_deployer_group_member_deploys_and_a_listed_user_costs_no_slack_call(
        make_bot: MakeBot, colours: dict[str, Path], clock: ManualClock) -> None:
    async with group_bot(make_bot, colours, clock, deployer=[DEPLOYER, DEPLOYERS]) as bot:
        bot.fake_slack.usergroups = {DEPLOYERS: [ALICE]}

        answer = await command(bot, "/deploy", "v1.0.0 staging", user=DEPLOYER)
        assert "Run #1 started" in answer["text"]
        assert group_reads(bot) == []

        answer = await command(bot, "/deploy", "v1.0.0", user=ALICE)
        assert "Run #2 started" in answer["text"], answer
        run = await wait_run(bot, 2, "waiting")
        assert run["requested_by"] == ALICE and run["environment"] == "production"
        assert group_reads(bot) == [DEPLOYERS]


async def test_a_non_member_is_refused_and_reads_within_the_ttl_ask_slack_once(
        make_bot: MakeBot, colours: dict[str, Path], clock: ManualClock) -> None:
    async with group_bot(make_bot, colours, clock, deployer=[DEPLOYERS]) as bot:
        bot.fake_slack.usergroups = {DEPLOYERS: [ALICE]}

        answer = await command(bot, "/deploy", "v1.0.0 staging", user=NOBODY)
        assert f"<@{NOBODY}> does not have the deployer role needed for this runbook (roles.deployer in the " \
               "configuration)." in answer["text"]
        assert "could not be read" not in answer["text"]
        refused = (await audit(bot, "/deploy"))[-1]
        assert (refused["actor"], refused["outcome"]) == (NOBODY, "refused") and "deployer role" in refused["reason"]
        assert "Run #1 started" in (await command(bot, "/deploy", "v1.0.0 staging", user=ALICE))["text"]
        assert "does not have the deployer role" in (await command(bot, "/deploy", "v1.0.0", user=NOBODY))["text"]
        assert group_reads(bot) == [DEPLOYERS]

        # Past the minute the group is read again: someone removed from it in Slack loses the role.
        bot.fake_slack.usergroups = {DEPLOYERS: []}
        clock.advance(seconds=61)
        answer = await command(bot, "/deploy", "v1.0.0", user=ALICE)
        assert f"<@{ALICE}> does not have the deployer role" in answer["text"]
        assert group_reads(bot) == [DEPLOYERS, DEPLOYERS]


async def test_an_approver_group_member_approves_under_the_two_person_rule(
        make_bot: MakeBot, colours: dict[str, Path], clock: ManualClock) -> None:
    async with group_bot(make_bot, colours, clock, deployer=[DEPLOYER, DEPLOYERS],
                         approver=[APPROVERS]) as bot:
        bot.fake_slack.usergroups = {DEPLOYERS: [ALICE], APPROVERS: [BOB]}
        await command(bot, "/deploy", "v1.0.0", user=ALICE)
        assert (await wait_run(bot, 1, "waiting"))["two_person_rule"]
        await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))

        # A deployer-group member is no approver; the requester is refused before any group is read.
        await click(bot, 1, "run_confirm", DEPLOYER)
        await click(bot, 1, "run_confirm", ALICE)
        refusals = " ".join(r["text"] for r in (await bot.fake_slack.wait_for_responses(3))[1:])
        assert f"<@{DEPLOYER}> may not confirm dangerous steps (needs the approver role)." in refusals
        assert "The two-person rule is on for production: you requested this run" in refusals
        assert handlers.CALLS["switch"] == 0

        await click(bot, 1, "run_confirm", BOB)
        await wait_run(bot, 1, "scheduled")
        assert handlers.CALLS["switch"] == 1
        approval = (await bot.query("SELECT * FROM approvals WHERE run_id = 1"))[0]
        assert approval["decision"] == "approved" and approval["approved_by"] == BOB
        assert sorted((r["actor"], r["outcome"]) for r in await audit(bot, "run_confirm")) == [
            (ALICE, "refused"), (BOB, "accepted"), (DEPLOYER, "refused")]

        # A deployer-group member who did not request the run may abort it (engine.abort_roles).
        bot.fake_slack.usergroups[DEPLOYERS].append("U0CAROL000")
        clock.advance(seconds=61)
        await click(bot, 1, "run_abort", "U0CAROL000")
        run = await wait_run(bot, 1, "aborted")
        assert run["finished_at"] is not None
        # Alice's /deploy, the approvers once for two clicks, the deployers again past the minute.
        assert group_reads(bot) == [DEPLOYERS, APPROVERS, DEPLOYERS]


async def test_an_unreadable_group_counts_for_nobody_and_the_refusal_names_it(
        make_bot: MakeBot, colours: dict[str, Path], clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="bot.slack.usergroups")
    async with group_bot(make_bot, colours, clock, deployer=[DEPLOYER, GHOSTS], approver=[GHOSTS]) as bot:
        answer = await command(bot, "/deploy", "v1.0.0", user=ALICE)
        assert f"<@{ALICE}> does not have the deployer role needed for this runbook (roles.deployer in the " \
               f"configuration); user group {GHOSTS} (roles.deployer, roles.approver) could not be read " \
               "(no_such_subteam), so it counted for nobody: check the user-group ID" in answer["text"]
        refused = (await audit(bot, "/deploy"))[-1]
        assert (refused["actor"], refused["outcome"]) == (ALICE, "refused") and GHOSTS in refused["reason"]
        logged = [r for r in caplog.records if getattr(r, "usergroup", None) == GHOSTS]
        assert logged and logged[0].error == "no_such_subteam"  # type: ignore[attr-defined]
        assert "check the user-group ID" in logged[0].remedy  # type: ignore[attr-defined]

        # People listed by ID are unaffected, and a click names the group too.
        await command(bot, "/deploy", "v1.0.0", user=DEPLOYER)
        await wait_run(bot, 1, "waiting")
        await click(bot, 1, "run_confirm", BOB)
        refusal = (await bot.fake_slack.wait_for_responses(3))[2]
        assert f"<@{BOB}> may not confirm dangerous steps (needs the approver role); user group {GHOSTS}" \
               in refusal["text"] and "no_such_subteam" in refusal["text"]
        assert handlers.CALLS["switch"] == 0
        # The failure is kept briefly (the click did not ask again), then the group is asked again.
        assert group_reads(bot) == [GHOSTS]
        bot.fake_slack.usergroups = {GHOSTS: [BOB]}
        clock.advance(seconds=11)
        await click(bot, 1, "run_confirm", BOB)
        await wait_run(bot, 1, "scheduled")
        assert group_reads(bot) == [GHOSTS, GHOSTS]


async def test_slack_down_fails_closed_for_the_group(make_bot: MakeBot, colours: dict[str, Path],
                                                    clock: ManualClock) -> None:
    async with group_bot(make_bot, colours, clock, deployer=[DEPLOYERS]) as bot:
        bot.fake_slack.usergroups = {DEPLOYERS: [ALICE]}
        bot.fake_slack.fail("usergroups.users.list", status=503, times=3)  # the first try and both retries

        answer = await command(bot, "/deploy", "v1.0.0", user=ALICE)
        assert f"user group {DEPLOYERS} (roles.deployer) could not be read (HTTP 503)" in answer["text"]
        assert "Slack could not be asked; try again shortly" in answer["text"]
        assert await bot.query("SELECT id FROM runbook_runs") == []

        clock.advance(seconds=11)
        assert "Run #1 started" in (await command(bot, "/deploy", "v1.0.0", user=ALICE))["text"]
