"""/rollback: immediate (nginx back to the previous colour), database, or full system."""

from typing import Literal

from bot.config import AppConfig
from bot.errors import UsageError
from bot.slack.commands import grammar
from bot.slack.commands.base import CommandSpec, Help, Request, Subcommand, is_help, tokens

USAGE = "/rollback [ENVIRONMENT] · /rollback db [--to MIGRATION] [ENVIRONMENT] · /rollback full VERSION [ENVIRONMENT]"


class RollbackRequest(Request):
    kind: Literal["immediate", "database", "full"]
    environment: str = "production"
    to_migration: str | None = None
    version: str | None = None


def _environment(rest: list[str]) -> str:
    if not rest:
        return "production"
    if len(rest) > 1:
        raise UsageError(f"Too many arguments: `{' '.join(rest[1:])}`.", USAGE)
    return grammar.environment(rest[0], USAGE)


def parse(text: str) -> Request:
    words = tokens(text, USAGE)
    if is_help(words):
        return Help()
    if not words:
        return RollbackRequest(kind="immediate")
    head, rest = words[0].lower(), words[1:]
    if head == "db":
        to = None
        if rest and rest[0].startswith("--to"):
            if rest[0].startswith("--to="):
                to, rest = rest[0][len("--to="):], rest[1:]
            elif len(rest) >= 2:
                to, rest = rest[1], rest[2:]
            else:
                raise UsageError("`--to` needs a migration name.", USAGE)
            to = grammar.migration(to, USAGE)
        for word in rest:
            if word.startswith("-"):
                raise UsageError(f"Unknown option `{word}` (the only option is --to MIGRATION).", USAGE)
        return RollbackRequest(kind="database", to_migration=to, environment=_environment(rest))
    if head == "full":
        if not rest:
            raise UsageError("A full rollback needs the version to go back to.", USAGE)
        version = grammar.version(rest[0], USAGE)
        return RollbackRequest(kind="full", version=version, environment=_environment(rest[1:]))
    if head.startswith("-"):
        raise UsageError(f"Unknown option `{words[0]}`.", USAGE)
    if grammar.ENVIRONMENT.match(head) and len(words) == 1:
        return RollbackRequest(kind="immediate", environment=head)
    raise UsageError(f"Unknown rollback `{words[0]}` (expected nothing, an environment, db or full).", USAGE)


def check(request: Request, config: AppConfig) -> None:
    if isinstance(request, RollbackRequest) and request.version is not None:
        grammar.release_tag(request.version, request.environment, config.environments, USAGE)


SPEC = CommandSpec(
    name="/rollback",
    description="Roll back with the runbook: nginx to the previous colour, a migration, or the whole system",
    usage_hint="[ENVIRONMENT] | db [--to MIGRATION] | full VERSION",
    parse=parse,
    check=check,
    subcommands=[
        Subcommand("", "immediate rollback: nginx back to the previous colour, stop the bad one", RollbackRequest),
        Subcommand("db", "roll back the last database migration", RollbackRequest),
        Subcommand("db --to MIGRATION", "roll back to a migration, e.g. 20240101120000-name", RollbackRequest),
        Subcommand("full VERSION", "full system rollback to a previous tag, e.g. v0.9.0", RollbackRequest),
    ],
)
