"""/maint: the runbook's maintenance procedures."""

from typing import Literal

from bot.errors import UsageError
from bot.slack.commands.base import CommandSpec, Help, Request, Subcommand, is_help, tokens

Task = Literal[
    "vacuum", "reindex", "backup-verify", "redis-doctor", "redis-lastsave", "redis-config-backup", "cert-check"
]
TASKS: dict[Task, str] = {
    "vacuum": "VACUUM ANALYZE the production database (weekly)",
    "reindex": "REINDEX the production database (monthly)",
    "backup-verify": "list the latest backup with pg_restore --list",
    "redis-doctor": "Redis MEMORY DOCTOR",
    "redis-lastsave": "when Redis last persisted (LASTSAVE)",
    "redis-config-backup": "save Redis CONFIG GET * to a file",
    "cert-check": "TLS certificate expiry",
}
USAGE = "/maint " + "|".join(TASKS)


class MaintRequest(Request):
    task: Task


def parse(text: str) -> Request:
    words = tokens(text, USAGE)
    if is_help(words):
        return Help()
    if not words:
        raise UsageError("Which maintenance task?", USAGE)
    if len(words) > 1:
        raise UsageError(f"`/maint` runs one task at a time, got `{' '.join(words)}`.", USAGE)
    for task in TASKS:
        if words[0].lower() == task:
            return MaintRequest(task=task)
    raise UsageError(f"Unknown task `{words[0]}`.", USAGE)


SPEC = CommandSpec(
    name="/maint",
    description="Run the runbook's maintenance procedures",
    usage_hint="|".join(TASKS),
    parse=parse,
    subcommands=[Subcommand(task, summary, MaintRequest) for task, summary in TASKS.items()],
)
