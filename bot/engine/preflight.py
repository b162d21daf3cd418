"""Inputs checked before anything runs: environment, runbook, role, parameters, and that the tag exists.

A refusal says what was wrong and the correct form; the caller answers ephemerally, audits it and
starts nothing.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import AppConfig
from bot.config.environments import EnvironmentConfig
from bot.engine.permissions import GroupDirectory, may_start
from bot.runbooks import params as runbook_params
from bot.runbooks.loader import Catalogue, UnknownEnvironmentError, UnknownRunbookError
from bot.runbooks.schema import ParameterError, Runbook
from handlers.registry import REGISTRY, StepContext, load_all

TAG_CHECK_TIMEOUT_S = 30.0


class Refusal(Exception):
    """Why a request cannot run, and the correct form."""

    def __init__(self, problem: str, usage: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = usage


@dataclass(frozen=True)
class RunRequest:
    """A person asking for a runbook to run somewhere."""

    runbook_id: str
    environment: str
    raw_params: dict[str, Any]
    user: str
    usage: str  # the correct form, for refusals
    channel: str | None = None
    thread_ts: str | None = None
    started_from_run: int | None = None
    incident_id: int | None = None


@dataclass(frozen=True)
class Checked:
    request: RunRequest
    runbook: Runbook
    env: EnvironmentConfig
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def two_person_rule(self) -> bool:
        return bool(self.env.two_person_rule)


async def check(config: AppConfig, catalogue: Catalogue, groups: GroupDirectory, request: RunRequest) -> Checked:
    """The request made concrete, or Refusal. Contacts only git (to see the tag exists) and, for a requester
    not listed by user ID, Slack (the user groups of the runbook's role)."""
    usage = request.usage
    try:
        env_values = catalogue.env_values(request.environment)
    except UnknownEnvironmentError as exc:
        raise Refusal(f"{str(exc).capitalize()}.", usage) from exc
    try:
        runbook = catalogue.get(request.runbook_id)
    except UnknownRunbookError as exc:
        raise Refusal(f"{str(exc).capitalize()}.", usage) from exc
    problems = catalogue.problems_of(runbook.id)
    if problems:
        raise Refusal(f"Runbook {runbook.id} is invalid ({problems[0]}); `atl-bot runbooks validate` lists "
                      "every problem.", usage)
    missing = catalogue.unavailable_in(runbook.id, request.environment)
    if missing:
        raise Refusal(f"{runbook.title} cannot run in {request.environment}: {missing} (configure it under "
                      f"environments.{request.environment}).", usage)
    refused = await may_start(config, groups, request.user, runbook.role)
    if refused:
        raise Refusal(f"{refused[0].upper()}{refused[1:]}.", usage)
    try:
        values = runbook_params.bind(runbook, request.raw_params, env_values)
    except ParameterError as exc:
        raise Refusal(f"{exc}.", usage) from exc
    env = catalogue.environments[request.environment]
    version = values.get("version")
    if isinstance(version, str) and any(step.handler == "git.verify_tag" for step in runbook.steps):
        problem = await missing_tag(env, runbook, version)
        if problem:
            raise Refusal(problem, usage)
    return Checked(request, runbook, env, values)


def _repo_dirs(env: EnvironmentConfig, runbook: Runbook) -> list[str]:
    if any(step.handler.startswith("pm2.") for step in runbook.steps) and env.pm2 is not None:
        return [env.pm2.app_dir]
    return [colour.app_dir for colour in env.colours.values()]


async def missing_tag(env: EnvironmentConfig, runbook: Runbook, tag: str) -> str | None:
    """Why `tag` cannot be deployed (not on the remote, or the remote cannot be asked), or None."""
    dirs = _repo_dirs(env, runbook)
    repo = next((d for d in dirs if (Path(d) / ".git").exists()), None)
    if repo is None:
        return f"Cannot check that tag {tag} exists: none of {', '.join(dirs)} is a git checkout."
    registry = REGISTRY if "shell.run" in REGISTRY else load_all()
    shell = registry["shell.run"]
    # ls-remote asks the remote itself and changes nothing in the checkout; argv only, the tag already
    # matched the environment's tag pattern.
    params = shell.params.model_validate({
        "argv": ["git", "-C", repo, "ls-remote", "--exit-code", "--tags", env.git_remote, f"refs/tags/{tag}"],
        "env": {"GIT_TERMINAL_PROMPT": "0"},
    })
    result = await shell.fn(params, StepContext(environment="preflight", timeout_s=TAG_CHECK_TIMEOUT_S))
    if result.ok:
        return None
    if result.outputs.get("exit_code") == 2:
        return f"Tag {tag} does not exist in {env.git_remote} (checked from {repo}); push the tag first."
    return f"Cannot check that tag {tag} exists in {env.git_remote}: {result.summary}"
