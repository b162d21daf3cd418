"""The six slash commands; the manifest check and the Bolt app both read this registry."""

from bot.slack.commands import deploy, health, incident, maint, oncall, rollback
from bot.slack.commands.base import CommandSpec

COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec for spec in (deploy.SPEC, rollback.SPEC, incident.SPEC, health.SPEC, maint.SPEC, oncall.SPEC)
}

__all__ = ["COMMANDS", "CommandSpec"]
