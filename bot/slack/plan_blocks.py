"""A runbook plan as Block Kit (for `/deploy plan v1.0.0`); the same Plan the CLI prints."""

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.runbooks.duration import format_duration
from bot.runbooks.plan import Plan, PlannedStep
from bot.runbooks.plan_text import format_params, step_notes

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MAX_BLOCKS = 50


def escape(text: str) -> str:
    """Slack mrkdwn control characters: `<from step live>` must not become a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def step_text(step: PlannedStep, plan: Plan) -> str:
    if step.will_run is False:
        return _cut(f"~{step.number}. {escape(step.name)}~  `{step.handler}` — _skipped: `{step.when}` is false_",
                    SECTION_LIMIT)
    icon = ":warning: " if step.dangerous else ""
    lines = [f"{icon}*{step.number}. {escape(step.name)}*  `{step.handler}`"]
    lines += [f"> {escape(note)}" if step.dangerous else f"_{escape(note)}_" for note in step_notes(step, plan)]
    head = "\n".join(lines)
    params = escape(format_params(step.params))
    room = SECTION_LIMIT - len(head) - 8
    if room < 40:
        return _cut(head, SECTION_LIMIT)
    return f"{head}\n```{_cut(params, room)}```"


def plan_blocks(plan: Plan) -> list[Block]:
    params = ", ".join(f"{k}={v}" for k, v in plan.params.items() if v is not None) or "no parameters"
    blocks: list[Block] = [
        HeaderBlock(text=_cut(f"Plan: {plan.title} in {plan.environment}", HEADER_LIMIT)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=escape(
                        f"{plan.runbook_id} · {params} · role {plan.role} · "
                        f"two-person rule {'on' if plan.two_person_rule else 'off'}"
                    )
                )
            ]
        ),
        DividerBlock(),
    ]
    footer = ContextBlock(
        elements=[
            MarkdownTextObject(
                text=f"Nothing has run. {len(plan.dangerous_steps)} dangerous step(s) will pause for confirmation "
                f"(expires after {format_duration(plan.confirmation_ttl_s)})."
            )
        ]
    )
    room = MAX_BLOCKS - len(blocks) - 1
    texts = [step_text(step, plan) for step in plan.steps]
    if len(texts) > room:
        # Too many steps for one block each: pack several into each section, within Slack's limits.
        packed: list[str] = []
        for text in texts:
            if packed and len(packed[-1]) + len(text) + 2 <= SECTION_LIMIT:
                packed[-1] += "\n\n" + text
            else:
                packed.append(text)
        texts = packed[:room]
    blocks += [SectionBlock(text=MarkdownTextObject(text=text)) for text in texts]
    blocks.append(footer)
    return blocks
