"""Block Kit for the command replies, and the text helpers every Block Kit module shares (slack_sdk models
enforce Slack's limits by raising; these cut text to fit first)."""

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.errors import UsageError

SECTION_LIMIT = 3000


def clip(text: str, limit: int = SECTION_LIMIT) -> str:
    """Cut to Slack's limit, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text))])


def help_blocks(text: str) -> list[Block]:
    return [section(text)]


def usage_error_blocks(error: UsageError) -> list[Block]:
    return [
        section(f":warning: {error.problem}"),
        ContextBlock(elements=[MarkdownTextObject(text=f"Correct form: `{error.usage}`  ·  nothing was run")]),
    ]


def notice_blocks(text: str) -> list[Block]:
    return [section(text)]
