"""shell.run and what every handler shares: argv only, timeouts that kill, redaction, truncated output."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from handlers._common import MAX_OUTPUT_CHARS
from handlers.registry import StepContext, load_all
from handlers.shell import RunParams, run
from tests.stack.procs import running


async def test_runs_an_argv_and_reports_the_exit_code(tmp_path: Path) -> None:
    result = await run(RunParams(argv=["pwd"], cwd=str(tmp_path)), StepContext())
    assert result.ok
    assert result.output.strip() == str(tmp_path)
    assert result.outputs == {"exit_code": 0}


async def test_a_nonzero_exit_fails_the_step() -> None:
    result = await run(RunParams(argv=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]),
                       StepContext())
    assert not result.ok
    assert result.outputs == {"exit_code": 3}
    assert "exit 3 (expected 0)" in result.summary
    assert "boom" in result.output


async def test_expect_exit_accepts_a_planned_nonzero_exit() -> None:
    result = await run(RunParams(argv=["false"], expect_exit=1), StepContext())
    assert result.ok


async def test_user_text_is_one_argument_never_shell_syntax(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"v1.0.0; touch {marker}; $(touch {marker})"
    result = await run(RunParams(argv=["echo", hostile]), StepContext())
    assert result.ok
    assert result.output.strip() == hostile
    assert not marker.exists()


async def test_environment_is_passed_on_top_of_the_bots() -> None:
    result = await run(RunParams(argv=["sh", "-c", 'echo "$GREETING:$PATH"'], env={"GREETING": "xin chào"}),
                       StepContext())
    assert result.output.strip() == f"xin chào:{os.environ['PATH']}"


async def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    argv = ["sh", "-c", f"echo started; sleep 60 & echo $! > {child_pid}; wait"]
    result = await run(RunParams(argv=argv), StepContext(timeout_s=1))
    assert not result.ok
    assert "timed out after 1s" in result.summary
    assert "started" in result.output  # what it printed before the kill is kept
    assert not await _alive_after(int(child_pid.read_text()), wait_s=5)


async def _alive_after(pid: int, wait_s: float) -> bool:
    """Whether `pid` still runs after up to `wait_s`."""
    for _ in range(int(wait_s / 0.05)):
        if not await asyncio.to_thread(running, pid):
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_missing_program_fails_cleanly() -> None:
    result = await run(RunParams(argv=["/nonexistent/deploy-tool", "--help"]), StepContext())
    assert not result.ok
    assert result.outputs == {"exit_code": 127}
    assert "cannot run" in result.output


async def test_secrets_are_redacted_from_summary_output_and_outputs() -> None:
    ctx = StepContext(secrets=["xoxb-very-secret-token"])
    result = await run(RunParams(argv=["echo", "token=xoxb-very-secret-token"]), ctx)
    everything = result.summary + result.output + repr(result.outputs)
    assert "xoxb-very-secret-token" not in everything
    assert "token=[redacted]" in result.output
    assert "[redacted]" in result.summary  # the argv itself is in the summary


async def test_passwords_inside_urls_in_params_are_redacted_unasked() -> None:
    url = "postgresql://deploy:hunter2-pw@db.internal:5432/audio_tai_loc_prod"
    result = await run(RunParams(argv=["echo", f"connecting to {url}"]), StepContext())
    assert "hunter2-pw" not in result.output + result.summary
    assert "postgresql://deploy:[redacted]@db.internal:5432/audio_tai_loc_prod" in result.output


async def test_long_output_keeps_the_tail_and_says_how_much_was_cut() -> None:
    script = "import sys; sys.stdout.write('x' * 100000 + '\\nTHE END\\n')"
    result = await run(RunParams(argv=[sys.executable, "-c", script]), StepContext())
    assert result.ok
    assert result.output.endswith("THE END\n")
    assert result.output.startswith("[… ")
    assert "earlier characters cut" in result.output.splitlines()[0]
    assert len(result.output) <= MAX_OUTPUT_CHARS + 100


def test_an_empty_argv_or_unknown_param_is_refused() -> None:
    with pytest.raises(ValidationError):
        RunParams(argv=[])
    with pytest.raises(ValidationError):
        RunParams.model_validate({"argv": ["ls"], "shell": True})


def test_every_catalogue_handler_is_registered() -> None:
    names = set(load_all())
    expected = {
        "docker.build", "docker.tag", "docker.run", "docker.start", "docker.stop", "docker.remove", "docker.exec",
        "docker.logs", "docker.prune", "nginx.switch", "nginx.live", "nginx.reload", "http.health", "http.smoke",
        "git.fetch", "git.verify_tag", "git.checkout", "shell.run", "postgres.exec", "postgres.restore",
        "postgres.backup_verify", "redis.command", "prometheus.check", "prometheus.watch", "pm2.stop",
        "pm2.start", "pm2.save", "pm2.deploy", "pm2.list",
    }
    assert expected <= names
