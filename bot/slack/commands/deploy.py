"""/deploy: blue-green (default) or PM2 deploys of a release tag, or the plan of one."""

from typing import Literal

from bot.config import AppConfig
from bot.errors import UsageError
from bot.slack.commands import grammar
from bot.slack.commands.base import CommandSpec, Help, Request, Subcommand, is_help, tokens

USAGE = "/deploy [plan] VERSION [ENVIRONMENT] [--pm2]   e.g. /deploy v1.0.0 staging"


class DeployRequest(Request):
    version: str
    environment: str = "production"
    strategy: Literal["blue-green", "pm2"] = "blue-green"
    plan_only: bool = False


def parse(text: str) -> Request:
    words = tokens(text, USAGE)
    if not words:
        raise UsageError("Which version? A release tag is required.", USAGE)
    if is_help(words):
        return Help()
    plan_only = words[0].lower() == "plan"
    if plan_only:
        words = words[1:]
    strategy: Literal["blue-green", "pm2"] = "blue-green"
    positional = []
    for word in words:
        if word == "--pm2":
            strategy = "pm2"
        elif word.startswith("-"):
            raise UsageError(f"Unknown option `{word}` (the only option is --pm2).", USAGE)
        else:
            positional.append(word)
    if not positional:
        raise UsageError("Which version? A release tag is required.", USAGE)
    if len(positional) > 2:
        raise UsageError(f"Too many arguments: `{' '.join(positional[2:])}`.", USAGE)
    version = grammar.version(positional[0], USAGE)
    environment = grammar.environment(positional[1], USAGE) if len(positional) == 2 else "production"
    return DeployRequest(version=version, environment=environment, strategy=strategy, plan_only=plan_only)


def check(request: Request, config: AppConfig) -> None:
    if isinstance(request, DeployRequest):
        grammar.release_tag(request.version, request.environment, config.environments, USAGE)


SPEC = CommandSpec(
    name="/deploy",
    description="Deploy a release tag with the runbook's blue-green or PM2 procedure",
    usage_hint="[plan] VERSION [ENVIRONMENT] [--pm2]",
    parse=parse,
    check=check,
    subcommands=[
        Subcommand("VERSION", "blue-green deploy of a tag to production", DeployRequest),
        Subcommand("VERSION ENVIRONMENT", "blue-green deploy to another environment, e.g. staging", DeployRequest),
        Subcommand("VERSION --pm2", "deploy with PM2 instead of blue-green", DeployRequest),
        Subcommand("plan VERSION [ENVIRONMENT]", "show every step that would run, without running it", DeployRequest),
    ],
)
