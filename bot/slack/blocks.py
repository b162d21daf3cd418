"""Block Kit for the command replies, built with slack_sdk models (which enforce Slack's limits)."""

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.errors import UsageError

SECTION_LIMIT = 3000


def _section(text: str) -> SectionBlock:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text))


def help_blocks(text: str) -> list[Block]:
    return [_section(text)]


def usage_error_blocks(error: UsageError) -> list[Block]:
    return [
        _section(f":warning: {error.problem}"),
        ContextBlock(elements=[MarkdownTextObject(text=f"Correct form: `{error.usage}`  ·  nothing was run")]),
    ]


def notice_blocks(text: str) -> list[Block]:
    return [_section(text)]
