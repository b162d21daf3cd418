"""Plan pieces as plain text, shared by the terminal (render_cli) and Slack (bot.slack.plan_blocks)."""

from typing import Any

from bot.runbooks.duration import format_duration
from bot.runbooks.plan import Plan, PlannedStep


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _leafy(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return all(not isinstance(item, dict | list) for item in items)


def _lines(value: Any, indent: str) -> list[str]:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item and not _leafy(item):
                out += [f"{indent}{key}:", *_lines(item, indent + "  ")]
            else:
                out.append(f"{indent}{key}: {_inline(item)}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if (isinstance(item, dict) and item) or (isinstance(item, list) and item and not _leafy(item)):
                nested = _lines(item, indent + "  ")  # a map in a list: one `- key: value` block per item
                out += [f"{indent}- {nested[0].lstrip()}", *nested[1:]]
            else:
                out.append(f"{indent}- {_inline(item)}")
        return out
    return [f"{indent}{_inline(value)}"]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def format_params(params: dict[str, Any]) -> str:
    """One `key: value` line per param, lists and maps of plain values inline, deeper ones indented.

    Values are shown as they will be passed, unquoted: `<from step live: …>` marks what a step decides.
    """
    return "\n".join(_lines(params, "")) if params else "(none)"


def step_notes(step: PlannedStep, plan: Plan) -> list[str]:
    """What a reader must know beside the params: danger, condition, delay, timeout, failure handling."""
    notes = []
    if step.will_run is False:
        notes.append(f"skipped: `{step.when}` is false")
        return notes
    if step.dangerous:
        who = " and approval by someone other than the requester" if plan.two_person_rule else ""
        notes.append(f"DANGEROUS: waits for confirmation{who}")
        if step.confirm_text:
            notes.append(f"confirm: {step.confirm_text}")
    if step.will_run is None:
        notes.append(f"runs if `{step.when}` (decided at run time)")
    if step.delay_s is not None:
        notes.append(f"follow-up: {format_duration(step.delay_s)} after the previous step")
    elif step.delay_pending:
        notes.append(f"follow-up: {step.delay_pending} after the previous step")
    notes.append(f"timeout {format_duration(step.timeout_s)} · on failure: {step.on_failure}")
    return notes
