"""shell.run: one argv, never a shell, so a runbook parameter can never become shell syntax."""

from pydantic import Field

from handlers._common import child_env, command_line, guarded, run_argv
from handlers.registry import Params, StepContext, StepResult, handler


class RunParams(Params):
    argv: list[str] = Field(min_length=1)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    expect_exit: int = 0


@handler("shell.run")
@guarded
async def run(params: RunParams, ctx: StepContext) -> StepResult:
    """Run a command (argv list, no shell) and check its exit code."""
    done = await run_argv(params.argv, timeout_s=ctx.timeout_s, cwd=params.cwd, env=child_env(params.env))
    line = command_line(params.argv)
    if done.timed_out:
        return StepResult(ok=False, summary=f"{line} timed out after {ctx.timeout_s:g}s and was killed",
                          output=done.output)
    ok = done.exit_code == params.expect_exit
    expected = "" if ok else f" (expected {params.expect_exit})"
    return StepResult(ok=ok, summary=f"{line}: exit {done.exit_code}{expected}", output=done.output,
                      outputs={"exit_code": done.exit_code})
