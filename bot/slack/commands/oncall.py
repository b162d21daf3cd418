"""/oncall: who in the escalation matrix is reachable now."""

from bot.errors import UsageError
from bot.slack.commands.base import CommandSpec, Help, Request, Subcommand, is_help, tokens

USAGE = "/oncall"


class OncallRequest(Request):
    pass


def parse(text: str) -> Request:
    words = tokens(text, USAGE)
    if is_help(words):
        return Help()
    if words:
        raise UsageError(f"`/oncall` takes no arguments, got `{' '.join(words)}`.", USAGE)
    return OncallRequest()


SPEC = CommandSpec(
    name="/oncall",
    description="Who in the escalation matrix is reachable now, and why",
    usage_hint="",
    parse=parse,
    subcommands=[Subcommand("", "who is reachable now", OncallRequest)],
)
