"""What a slash command is: its manifest entry, its grammar, and what each valid request does."""

import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.config import AppConfig
    from bot.runtime import Runtime


class Request(BaseModel):
    """A parsed, validated slash-command request."""

    model_config = ConfigDict(frozen=True)


class Help(Request):
    pass


@dataclass(frozen=True)
class Invocation:
    """Who ran a command, where, and how to answer them."""

    user_id: str
    channel_id: str
    text: str
    response_url: str | None
    trigger_id: str | None
    thread_ts: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: Sequence[Any] | None = None
    ephemeral: bool = True


Executor = Callable[["Runtime", Invocation, Any], Awaitable[Reply | None]]


@dataclass(frozen=True)
class Subcommand:
    usage: str
    summary: str
    request: type[Request]


@dataclass
class CommandSpec:
    name: str
    description: str
    usage_hint: str
    parse: Callable[[str], Request]
    subcommands: list[Subcommand]
    # request type -> what runs it; a type with no executor is parsed but answered as unavailable.
    executors: dict[type[Request], Executor] = field(default_factory=dict)
    # What only the configuration can tell (e.g. an environment's tag pattern): raises UsageError.
    check: Callable[[Request, "AppConfig"], None] | None = None

    def executor_for(self, request: Request) -> Executor | None:
        return self.executors.get(type(request))

    def help_text(self) -> str:
        """Only what exists: subcommands whose request has an executor in this build."""
        lines = [f"*{self.name}* — {self.description}"]
        ready = [sub for sub in self.subcommands if sub.request in self.executors]
        lines += [f"• `{f'{self.name} {sub.usage}'.strip()}` — {sub.summary}" for sub in ready]
        if not ready:
            lines.append(f"_{self.name} is not enabled in this build yet; nothing it names can run._")
        lines.append(f"• `{self.name} help` — this message")
        return "\n".join(lines)


def tokens(text: str, usage: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"Could not read the arguments ({exc}).", usage) from exc


def is_help(words: list[str]) -> bool:
    return len(words) == 1 and words[0].lower() in {"help", "-h", "--help", "?"}
