"""git.fetch, git.verify_tag, git.checkout: the git CLI on an existing checkout, argv only."""

from typing import Annotated

from pydantic import StringConstraints

from handlers._common import Completed, child_env, guarded, run_argv
from handlers.registry import Params, StepContext, StepResult, handler

# A ref can never start with "-", so no value reaches git as an option.
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/@{}^~-]*$", max_length=255)]
Remote = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$", max_length=100)]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$", max_length=255)]


class FetchParams(Params):
    repo_dir: str
    remote: Remote = "origin"


class VerifyTagParams(Params):
    repo_dir: str
    tag: Tag


class CheckoutParams(Params):
    repo_dir: str
    ref: Ref


async def _git(repo_dir: str, *args: str, timeout_s: float) -> Completed:
    # Never wait for a password prompt nobody will answer; never page output.
    env = child_env({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"})
    return await run_argv(["git", "-C", repo_dir, *args], timeout_s=timeout_s, env=env)


@handler("git.fetch")
@guarded
async def fetch(params: FetchParams, ctx: StepContext) -> StepResult:
    """Fetch branches and tags from a remote."""
    done = await _git(params.repo_dir, "fetch", "--tags", "--force", "--prune", params.remote,
                      timeout_s=ctx.timeout_s)
    if done.exit_code != 0:
        return StepResult(ok=False, summary=f"git fetch {params.remote} in {params.repo_dir} failed ({done.ran})",
                          output=done.output)
    return StepResult(ok=True, summary=f"fetched {params.remote} in {params.repo_dir}", output=done.output)


@handler("git.verify_tag")
@guarded
async def verify_tag(params: VerifyTagParams, ctx: StepContext) -> StepResult:
    """Check that a tag exists and name the commit it points at."""
    done = await _git(params.repo_dir, "rev-parse", "--verify", "--quiet", f"refs/tags/{params.tag}^{{commit}}",
                      timeout_s=ctx.timeout_s)
    if done.exit_code != 0:
        return StepResult(ok=False, summary=f"tag {params.tag} does not exist in {params.repo_dir}",
                          output=done.output)
    commit = done.output.strip()
    return StepResult(ok=True, summary=f"tag {params.tag} is {commit[:12]}", outputs={"commit": commit})


@handler("git.checkout")
@guarded
async def checkout(params: CheckoutParams, ctx: StepContext) -> StepResult:
    """Check out a ref (detached for tags, as `git checkout tags/v1.0.0` does)."""
    done = await _git(params.repo_dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", params.ref, "--",
                      timeout_s=ctx.timeout_s)
    if done.exit_code != 0:
        return StepResult(ok=False, summary=f"git checkout {params.ref} in {params.repo_dir} failed ({done.ran})",
                          output=done.output)
    head = await _git(params.repo_dir, "rev-parse", "HEAD", timeout_s=ctx.timeout_s)
    commit = head.output.strip()
    return StepResult(ok=head.exit_code == 0, summary=f"checked out {params.ref} at {commit[:12]}",
                      output=done.output, outputs={"commit": commit})
