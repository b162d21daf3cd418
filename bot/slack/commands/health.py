"""/health: the runbook's health checks, all or one system."""

from typing import Literal

from bot.errors import UsageError
from bot.slack.commands.base import CommandSpec, Help, Request, Subcommand, is_help, tokens

USAGE = "/health [db|redis|metrics|logs]"
Target = Literal["all", "db", "redis", "metrics", "logs"]
TARGETS: tuple[Target, ...] = ("db", "redis", "metrics", "logs")


class HealthRequest(Request):
    target: Target = "all"


def parse(text: str) -> Request:
    words = tokens(text, USAGE)
    if is_help(words):
        return Help()
    if not words:
        return HealthRequest()
    if len(words) > 1:
        raise UsageError(f"`/health` checks one system at a time, got `{' '.join(words)}`.", USAGE)
    target = words[0].lower()
    for known in TARGETS:
        if target == known:
            return HealthRequest(target=known)
    raise UsageError(f"Unknown system `{words[0]}` (expected db, redis, metrics or logs).", USAGE)


SPEC = CommandSpec(
    name="/health",
    description="Run the runbook's health checks",
    usage_hint="[db|redis|metrics|logs]",
    parse=parse,
    subcommands=[
        Subcommand("", "check everything", HealthRequest),
        Subcommand("db", "PostgreSQL: reachable, connections, replication lag", HealthRequest),
        Subcommand("redis", "Redis: reachable, memory, hit rate, evictions", HealthRequest),
        Subcommand("metrics", "application metrics against the runbook's thresholds", HealthRequest),
        Subcommand("logs", "counts of the runbook's error-log patterns", HealthRequest),
    ],
)
