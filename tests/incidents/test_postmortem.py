"""A P1 from declaration to postmortem: the resolution prompt's rollback goes through the runbook engine
(its confirmation, the two-person rule), the run lands on the incident's timeline with its approver, and on
resolve the postmortem is uploaded to the thread — the same Markdown `atl-bot incidents export ID` prints."""

import asyncio
from pathlib import Path
from typing import Any

from tests.engine import handlers
from tests.engine.support import buttons, run_message, wait_run
from tests.harness.bot import MakeBot
from tests.harness.process import run_cli
from tests.incidents.conftest import config
from tests.incidents.support import (
    APPROVER,
    DEPLOYER,
    INCIDENTS,
    JANE,
    ONCALL,
    advance,
    audited,
    command,
    hand_driven,
    incident,
    kinds,
    replies,
    settle,
    thread,
    with_button,
)

RUNBOOKS = Path(__file__).resolve().parents[1] / "engine" / "runbooks"


def production() -> dict[str, Any]:
    """An environment for the engine's test runbooks (their steps are `enginetest.step`: nothing is touched)."""
    return {
        "colours": {"blue": {"app_dir": "/srv/app-blue", "port": 3002, "container": "app-blue"},
                    "green": {"app_dir": "/srv/app-green", "port": 3001, "container": "app-green"}},
        "nginx": {"site_path": "/nonexistent/upstream.conf"},
        "health": {"public_url": "http://127.0.0.1:9/health"},
        "confirmation_ttl": "15m",
    }


async def test_a_p1_from_declaration_to_postmortem(make_bot: MakeBot, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    handlers.reset()
    overrides = config(engine={"runbooks_dir": str(RUNBOOKS)}, environments={"production": production()})
    async with make_bot(config=overrides) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P1 checkout failing", user=ONCALL)
        diagnostics = (await replies(bot))[3]
        assert "0/1 environments healthy" in diagnostics and "FAIL production" in diagnostics

        await advance(bot, clock, minutes=3)
        await command(bot, "ack", user=ONCALL)
        await command(bot, f"commander <@{JANE}>", user=ONCALL)
        await command(bot, "note error rate 40% since the 09:50 deploy", user=JANE)
        await advance(bot, clock, minutes=27)  # 30 min: the resolution prompt with its rollback buttons

        prompt = with_button(await thread(bot), "incident_rollback_immediate")
        assert prompt["blocks"][1]["elements"][0]["confirm"]["title"]["text"] == "Immediate rollback?"
        before = len(bot.fake_slack.responses)
        await bot.slack.block_action("incident_rollback_immediate", user_id=DEPLOYER, message=prompt)
        started = (await bot.fake_slack.wait_for_responses(before + 1))[before]
        assert "Run #1 started: rollback-immediate in production" in started["text"]
        assert started["response_type"] == "ephemeral"
        run = await wait_run(bot, 1, "waiting")
        assert run["incident_id"] == 1 and run["requested_by"] == DEPLOYER

        message = await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))
        await bot.slack.block_action("run_confirm", user_id=APPROVER, message=message)
        await wait_run(bot, 1, "succeeded")
        await asyncio.sleep(0)
        await settle(bot)
        assert [k for k in await kinds(bot) if k.startswith("run_")] == ["run_started", "run_approved", "run_finished"]
        shown = "\n".join(await replies(bot))
        assert "Run #1 (rollback-immediate): " in shown and f"<@{APPROVER}>" in shown
        row = await incident(bot)
        assert row["mitigated_at"] is not None  # the rollback succeeded

        await command(bot, "note follow-up: add a canary stage before the switch", user=JANE)
        await advance(bot, clock, minutes=12)
        await command(bot, "resolve rolled back to the previous colour", user=JANE)
        await settle(bot)

        [(file_id, upload)] = bot.fake_slack.files.items()
        assert upload["channel"] == INCIDENTS and upload["thread_ts"] == row["thread_ts"]
        assert upload["name"] == "incident-1-postmortem.md" and upload["shared"]
        markdown = upload["content"].decode()
        for expected in (
            "# Postmortem: P1 #1 — checkout failing",
            "## Summary", f"- **Commander:** @{JANE}", "- **Resolution:** rolled back to the previous colour",
            "## Impact", "- **Duration:** 42m",
            "## Key times",
            f"| Time to acknowledge | 3m | 2024-05-06 10:03:00 +07 by @{ONCALL} |",
            "| Time to mitigate | 30m |",
            "| Time to resolve | 42m | 2024-05-06 10:42:00 +07 |",
            "## Timeline", "| 2024-05-06 10:00:00 +07 | opened | @U0ONCALL01 | Declared P1 by @U0ONCALL01: checkout "
                           "failing |",
            "error rate 40% since the 09:50 deploy",
            "## Actions", "- **Run #1** `rollback-immediate` in production, requested by @U0DEPLOYER",
            f"step 2 (Switch back): approved by @{APPROVER}",
            "## Follow-ups", "- [ ] add a canary stage before the switch",
        ):
            assert expected in markdown, expected
        assert markdown.index("| opened |") < markdown.index("| acknowledged |") < markdown.index("| resolved |")

        exported = run_cli("incidents", "export", "1", env={"DATABASE_URL": bot.database_url,
                                                            "ATL_CONFIG": str(bot.config_path)})
        assert exported.returncode == 0, exported.stderr
        assert exported.stdout == markdown
        missing = run_cli("incidents", "export", "7", env={"DATABASE_URL": bot.database_url,
                                                           "ATL_CONFIG": str(bot.config_path)})
        assert missing.returncode == 1 and "there is no incident #7" in missing.stderr
        assert file_id
    handlers.reset()


async def test_full_rollback_asks_for_the_version_and_refusals_are_told(make_bot: MakeBot, clock) -> None:  # type: ignore[no-untyped-def]
    handlers.reset()
    overrides = config(engine={"runbooks_dir": str(RUNBOOKS)}, environments={"production": production()})
    async with make_bot(config=overrides) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P1 checkout failing")
        await advance(bot, clock, minutes=30)
        prompt = with_button(await thread(bot), "incident_rollback_full")
        await bot.slack.block_action("incident_rollback_full", user_id=DEPLOYER, message=prompt)
        await audited(bot, "incident_rollback_full")
        view = bot.fake_slack.calls_to("views.open")[-1]["view"]
        assert view["callback_id"] == "incident_rollback_full"
        bad = await bot.slack.view_submission("incident_rollback_full", {"version": {"value": "latest"}},
                                              user_id=DEPLOYER, private_metadata=view["private_metadata"])
        assert bad.json is not None and "`latest` is not a release tag" in bad.json["errors"]["version"]
        # The test catalogue has no rollback-full runbook: the engine refuses, the person is told why.
        await bot.slack.view_submission("incident_rollback_full", {"version": {"value": "v0.9.0"}},
                                        user_id=DEPLOYER, private_metadata=view["private_metadata"])
        rows = await audited(bot, "incident_rollback_full", 3)
        assert [r["outcome"] for r in rows] == ["accepted", "refused", "refused"]
        [told] = bot.fake_slack.calls_to("chat.postEphemeral")
        assert told["user"] == DEPLOYER and "Nothing was run" in told["text"]
        assert await bot.query("SELECT id FROM runbook_runs") == []

        # Someone without the deployer role is refused by the engine's own checks.
        prompt = with_button(await thread(bot), "incident_rollback_immediate")
        before = len(bot.fake_slack.responses)
        await bot.slack.block_action("incident_rollback_immediate", user_id=ONCALL, message=prompt)
        refusal = (await bot.fake_slack.wait_for_responses(before + 1))[before]
        assert "Nothing was run" in refusal["text"] and refusal["response_type"] == "ephemeral"
        assert await bot.query("SELECT id FROM runbook_runs") == []
    handlers.reset()
