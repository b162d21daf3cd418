"""A runbook run as Block Kit: one message per run, a checklist edited in place, and its thread replies.

The message shows every step as pending / running / done / failed / waiting for confirmation (or
skipped, cancelled), and the buttons that fit the run's state: Confirm or Approve (with a confirm dialog
saying exactly what will happen) and Abort while it is active, the offered rollback once it failed.
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.engine.model import Decision, EventKind, Run, RunEvent, RunStatus, RunStep, RunView, StepStatus
from bot.runbooks.duration import format_duration
from bot.slack.blocks import SECTION_LIMIT, clip

CONFIRM = "run_confirm"
ABORT = "run_abort"
ROLLBACK = "run_rollback"

HEADER_LIMIT = 150
CONFIRM_TEXT_LIMIT = 300  # Slack's limit for a confirm dialog's text
MAX_BLOCKS = 50

STEP_ICONS = {
    StepStatus.PENDING: ":white_circle:",
    StepStatus.RUNNING: ":hourglass_flowing_sand:",
    StepStatus.WAITING: ":double_vertical_bar:",
    StepStatus.DONE: ":white_check_mark:",
    StepStatus.FAILED: ":x:",
    StepStatus.SKIPPED: ":fast_forward:",
    StepStatus.CANCELLED: ":no_entry_sign:",
}
STEP_WORDS = {
    StepStatus.PENDING: "pending",
    StepStatus.RUNNING: "running",
    StepStatus.WAITING: "waiting for confirmation",
    StepStatus.DONE: "done",
    StepStatus.FAILED: "failed",
    StepStatus.SKIPPED: "skipped",
    StepStatus.CANCELLED: "cancelled",
}
RUN_WORDS = {
    RunStatus.PENDING: ":hourglass: Starting",
    RunStatus.RUNNING: ":hourglass_flowing_sand: Running",
    RunStatus.WAITING: ":double_vertical_bar: Waiting for confirmation",
    RunStatus.SCHEDULED: ":calendar: Follow-up scheduled",
    RunStatus.SUCCEEDED: ":white_check_mark: Succeeded",
    RunStatus.FAILED: ":x: Failed",
    RunStatus.ABORTED: ":octagonal_sign: Aborted",
    RunStatus.CANCELLED: ":no_entry_sign: Cancelled",
}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M:%S") if moment else "?"


def title(run: Run) -> str:
    shown = " ".join(str(v) for v in run.params.values() if v not in (None, False, ""))
    return f"{run.title}{' ' + shown if shown else ''} · {run.environment}"


def fallback_text(view: RunView) -> str:
    run = view.run
    state = RUN_WORDS[run.status].split(" ", 1)[1]
    if view.run.status is RunStatus.WAITING and view.approval is not None:
        state += f": {view.approval.confirm_text}"
    return f"Run #{run.id} {run.label} in {run.environment}: {state}"


def step_line(step: RunStep, view: RunView, zone: ZoneInfo) -> str:
    line = f"{STEP_ICONS[step.status]} {step.number}. {escape(step.name)}"
    if step.dangerous:
        line += " :warning:"
    if step.status in (StepStatus.DONE, StepStatus.FAILED, StepStatus.SKIPPED) and step.summary:
        took = ""
        if step.started_at and step.finished_at:
            took = f" ({format_duration((step.finished_at - step.started_at).total_seconds())})"
        line += f" — _{escape(clip(step.summary, 200))}_{took}"
    elif step.status is not StepStatus.PENDING:
        line += f" — _{STEP_WORDS[step.status]}_"
    elif step.due_at is not None:
        line += f" — _follow-up at {step.due_at.astimezone(zone).strftime('%Y-%m-%d %H:%M')}_"
    approval = view.approval_of(step.position)
    if approval is not None and approval.decision is Decision.APPROVED:
        verb = "approved" if view.run.two_person_rule else "confirmed"
        line += f" · {verb} by <@{approval.approved_by}> at {_at(approval.decided_at, zone)}"
    return line


def _pack(lines: list[str], room: int) -> list[SectionBlock]:
    sections: list[str] = []
    for line in lines:
        line = clip(line, SECTION_LIMIT)
        if sections and len(sections[-1]) + len(line) + 1 <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return [SectionBlock(text=MarkdownTextObject(text=text)) for text in sections[:room]]


def _status_text(view: RunView, zone: ZoneInfo) -> str:
    run = view.run
    text = f"*{RUN_WORDS[run.status]}*"
    if run.status.finished and run.finished_at is not None:
        text += f" after {format_duration((run.finished_at - run.created_at).total_seconds())}"
        if run.finished_by:
            text += f" by <@{run.finished_by}>"
        if run.error:
            text += f" — {escape(clip(run.error, 500))}"
    elif run.status is RunStatus.SCHEDULED:
        due = next((s for s in view.steps if s.due_at is not None and s.status is StepStatus.PENDING), None)
        if due is not None and due.due_at is not None:
            text += f": {escape(due.name)} at {due.due_at.astimezone(zone).strftime('%Y-%m-%d %H:%M %Z')}"
    elif run.abort_requested_by:
        text += f" — abort requested by <@{run.abort_requested_by}>; stops after the running step"
    return text


def confirm_button(view: RunView, step: RunStep) -> ButtonElement:
    run, approval = view.run, view.approval
    assert approval is not None
    verb = "Approve" if run.two_person_rule else "Confirm"
    dialog = ConfirmObject(
        title=clip(f"{verb} step {step.number}?", 100),
        text=PlainTextObject(text=clip(approval.confirm_text, CONFIRM_TEXT_LIMIT), emoji=False),
        confirm=verb,
        deny="Cancel",
        style="danger",
    )
    return ButtonElement(text=f"{verb}: {clip(step.name, 60)}"[:75], action_id=CONFIRM,
                         value=f"{run.id}:{step.position}:{approval.id}", style="primary", confirm=dialog)


def abort_button(run: Run) -> ButtonElement:
    what = ("the running step finishes, nothing after it runs" if run.status in (RunStatus.PENDING, RunStatus.RUNNING)
            else "nothing further runs")
    dialog = ConfirmObject(title=f"Abort run #{run.id}?",
                           text=PlainTextObject(text=clip(f"Stop {run.label} in {run.environment}: {what}.", 300)),
                           confirm="Abort", deny="Keep running", style="danger")
    return ButtonElement(text="Abort", action_id=ABORT, value=str(run.id), style="danger", confirm=dialog)


def rollback_button(run: Run) -> ButtonElement:
    assert run.rollback_runbook is not None
    dialog = ConfirmObject(title=clip(f"Start {run.rollback_runbook}?", 100),
                           text=PlainTextObject(text=clip(f"Start {run.rollback_runbook} in {run.environment}; "
                                                          "its dangerous steps ask for confirmation again.", 300)),
                           confirm="Start", deny="Cancel")
    return ButtonElement(text=clip(f"Run {run.rollback_runbook}", 75), action_id=ROLLBACK, value=str(run.id),
                         style="danger", confirm=dialog)


def _waiting_section(view: RunView, zone: ZoneInfo, confirm_roles: list[str]) -> list[Block]:
    approval = view.approval
    step = next((s for s in view.steps if s.status is StepStatus.WAITING), None)
    if approval is None or step is None or approval.decision is not Decision.PENDING:
        return []
    who = f"someone with the {' or '.join(confirm_roles)} role"
    if view.run.two_person_rule:
        who += f" other than <@{view.run.requested_by}> (two-person rule)"
    else:
        who += f", or <@{view.run.requested_by}>"
    text = (f":warning: *Step {step.number} waits for confirmation: {escape(step.name)}*\n"
            f">{escape(approval.confirm_text)}\n"
            f"_Who may confirm: {who}. Expires at {_at(approval.expires_at, zone)}; unconfirmed, the run is "
            "cancelled._")
    return [SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT))),
            ActionsBlock(block_id=f"run:{view.run.id}:confirm", elements=[confirm_button(view, step),
                                                                          abort_button(view.run)])]


def run_blocks(view: RunView, zone: ZoneInfo, confirm_roles: list[str]) -> list[Block]:
    run = view.run
    head: list[Block] = [
        HeaderBlock(text=clip(title(run), HEADER_LIMIT)),
        ContextBlock(elements=[MarkdownTextObject(text=clip(
            f"Run #{run.id} · {escape(run.runbook)} · requested by <@{run.requested_by}> at "
            f"{run.created_at.astimezone(zone).strftime('%Y-%m-%d %H:%M:%S %Z')} · two-person rule "
            f"{'on' if run.two_person_rule else 'off'}"
            + (f" · incident #{run.incident_id}" if run.incident_id else "")
            + (f" · rollback of run #{run.started_from_run}" if run.started_from_run else ""), 3000))]),
        SectionBlock(text=MarkdownTextObject(text=clip(_status_text(view, zone), SECTION_LIMIT))),
    ]
    tail: list[Block] = []
    if run.status is RunStatus.WAITING:
        tail += _waiting_section(view, zone, confirm_roles)
    elif run.status in (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.SCHEDULED) and not run.abort_requested_by:
        tail.append(ActionsBlock(block_id=f"run:{run.id}:abort", elements=[abort_button(run)]))
    elif run.status is RunStatus.FAILED and run.rollback_runbook:
        if run.rollback_run_id is None:
            tail.append(ActionsBlock(block_id=f"run:{run.id}:rollback", elements=[rollback_button(run)]))
        else:
            tail.append(ContextBlock(elements=[MarkdownTextObject(
                text=f"{escape(run.rollback_runbook)} started as run #{run.rollback_run_id}")]))
    room = MAX_BLOCKS - len(head) - len(tail)
    steps = _pack([step_line(step, view, zone) for step in view.steps], room)
    return [*head, *steps, *tail]


def to_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


# -- thread replies ------------------------------------------------------------------------------------

EVENT_ICONS = {
    EventKind.WAITING: ":double_vertical_bar:",
    EventKind.APPROVED: ":white_check_mark:",
    EventKind.SCHEDULED: ":calendar:",
    EventKind.ABORT_REQUESTED: ":octagonal_sign:",
    EventKind.NOTE: ":information_source:",
    EventKind.STARTED: ":rocket:",
}
FINISH_ICONS = {
    RunStatus.SUCCEEDED: ":tada:", RunStatus.FAILED: ":x:", RunStatus.ABORTED: ":octagonal_sign:",
    RunStatus.CANCELLED: ":no_entry_sign:",
}


def step_reply(step: RunStep, zone: ZoneInfo, output_limit: int) -> tuple[str, list[Block], bool]:
    """Text and blocks for a finished step; the bool says the output is too long and goes in a file."""
    took = ""
    if step.started_at and step.finished_at:
        took = f" · {format_duration((step.finished_at - step.started_at).total_seconds())}"
    head = f"{STEP_ICONS[step.status]} *{step.number}. {escape(step.name)}* `{step.handler}`{took}\n" \
           f"{escape(step.summary or STEP_WORDS[step.status])}"
    output = (step.output or "").strip()
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(head, SECTION_LIMIT)))]
    as_file = len(output) > output_limit
    if output and not as_file:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"```{output.replace('```', 'ˋˋˋ')}```")))
    elif as_file:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"Output: {len(output)} characters, attached as a file below")]))
    return f"{step.number}. {step.name}: {step.summary or STEP_WORDS[step.status]}", blocks, as_file


def event_reply(event: RunEvent, run: Run, zone: ZoneInfo) -> tuple[str, list[Block]]:
    icon = FINISH_ICONS.get(run.status, ":information_source:") if event.kind is EventKind.FINISHED \
        else EVENT_ICONS.get(event.kind, ":information_source:")
    text = f"{icon} {event.text} · {_at(event.at, zone)}"
    return text, [SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))]


# -- ephemeral answers ----------------------------------------------------------------------------------


def refusal_blocks(problem: str, usage: str) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=clip(f":warning: {problem}", SECTION_LIMIT))),
        ContextBlock(elements=[MarkdownTextObject(text=clip(f"Correct form: `{usage}`  ·  nothing was run", 3000))]),
    ]


def started_blocks(run: Run, channel: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=(
        f":rocket: Run #{run.id} started: {escape(run.label)} in {run.environment}. Follow it in <#{channel}>; "
        "dangerous steps will wait for a confirmation there.")))]


def notice_blocks(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))]
