"""The status-page prompt (draft shown, a button to edit it) and its modal: status, title, message and the
status of each configured component. Submitting it posts (or records) the update."""

import json
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.incidents.model import Incident
from bot.response.prompts import StatusPrompt
from bot.slack.blocks import clip
from bot.slack.response_blocks import STATUSPAGE_OPEN, local, name
from bot.statuspage import AffectedComponent, ComponentStatus, IncidentStatus, StatusDraft

VIEW = "incident_statuspage"
NOT_AFFECTED = "not_affected"
MAX_COMPONENTS = 40  # a modal holds 100 blocks; keep room for the rest
STATUS_LABELS = {IncidentStatus.INVESTIGATING: "Investigating", IncidentStatus.IDENTIFIED: "Identified",
                 IncidentStatus.MONITORING: "Monitoring", IncidentStatus.RESOLVED: "Resolved"}
COMPONENT_LABELS = {NOT_AFFECTED: "Not affected", ComponentStatus.OPERATIONAL.value: "Operational",
                    ComponentStatus.DEGRADED_PERFORMANCE.value: "Degraded performance",
                    ComponentStatus.PARTIAL_OUTAGE.value: "Partial outage",
                    ComponentStatus.MAJOR_OUTAGE.value: "Major outage"}


def _state_line(prompt: StatusPrompt, zone: ZoneInfo) -> str:
    state = prompt.state
    if not state.posted:
        return "Nothing posted yet"
    how = "recorded by hand" if state.manual else (f"<{state.ref.url}|on {prompt.page_name}>"
                                                   if state.ref and state.ref.url else f"on {prompt.page_name}")
    when = local(state.at, zone) if state.at else "?"
    return f"Last update: *{state.status.value if state.status else '?'}* at {when}, {how}"


def prompt_blocks(incident: Incident, prompt: StatusPrompt, zone: ZoneInfo) -> tuple[str, list[Block]]:
    draft = prompt.draft
    if prompt.final:
        head = f":white_check_mark: *{name(incident)} resolved — close the status-page incident too*"
    else:
        head = f":loudspeaker: *Status page update for {name(incident)}*"
    if not prompt.configured:
        head += " — no status page is configured: copy this draft to the status page, then record it"
    components = ", ".join(f"{c.name}: {COMPONENT_LABELS[c.status.value]}" for c in draft.components) or "none"
    body = (f"*Status:* {STATUS_LABELS[draft.status]} · *Components:* {components}\n"
            f"*Title:* {draft.title}\n```{clip(draft.message, 2500)}```")
    notes = [_state_line(prompt, zone)]
    if prompt.every_min and not prompt.final:
        notes.append(f"next prompt in {prompt.every_min} min until resolved")
    if prompt.problem:
        notes.append(f":warning: {prompt.problem}")
    label = "Record it…" if not prompt.configured else ("Resolve on status page…" if prompt.final
                                                         else "Edit and post…")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(head))),
        SectionBlock(text=MarkdownTextObject(text=clip(body))),
        ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(notes)))]),
        ActionsBlock(block_id=f"incident:{incident.id}:statuspage", elements=[ButtonElement(
            text=PlainTextObject(text=label), action_id=STATUSPAGE_OPEN, value=str(incident.id), style="primary")]),
    ]
    text = f"Status page draft for {name(incident)} ({draft.status.value}): {draft.message}"
    return clip(text, 3000), blocks


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=PlainTextObject(text=label))


def modal(incident: Incident, prompt: StatusPrompt, components: list[str]) -> dict[str, Any]:
    """The form: the draft as initial values; one select per configured component."""
    draft = prompt.draft
    statuses = [_option(s.value, STATUS_LABELS[s]) for s in IncidentStatus]
    current = {c.name: c.status.value for c in draft.components}
    blocks: list[Block] = [
        InputBlock(block_id="status", label=PlainTextObject(text="Status"), element=StaticSelectElement(
            action_id="value", options=statuses,
            initial_option=_option(draft.status.value, STATUS_LABELS[draft.status]))),
        InputBlock(block_id="title", label=PlainTextObject(text="Title (public)"), element=PlainTextInputElement(
            action_id="value", initial_value=draft.title, max_length=255)),
        InputBlock(block_id="message", label=PlainTextObject(text="Message (public)"), element=PlainTextInputElement(
            action_id="value", multiline=True, initial_value=clip(draft.message, 3000), max_length=3000)),
    ]
    options = [_option(v, label) for v, label in COMPONENT_LABELS.items()]
    for component in components[:MAX_COMPONENTS]:
        chosen = current.get(component, NOT_AFFECTED)
        blocks.append(InputBlock(
            block_id=f"component:{component}", label=PlainTextObject(text=clip(component, 2000)), optional=True,
            element=StaticSelectElement(action_id="value", options=options,
                                        initial_option=_option(chosen, COMPONENT_LABELS[chosen]))))
    where = prompt.page_name if prompt.configured else "the record (no status page configured)"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(
        f"Submitting posts this to {where} and to the incident timeline.", 2000))]))
    view = View(type="modal", callback_id=VIEW, title=PlainTextObject(text="Status page update"),
                submit=PlainTextObject(text="Post" if prompt.configured else "Record"),
                close=PlainTextObject(text="Cancel"), blocks=blocks,
                private_metadata=json.dumps({"incident_id": incident.id}))
    out: dict[str, Any] = view.to_dict()
    return out


def _value(values: dict[str, Any], block: str) -> str:
    state = (values.get(block) or {}).get("value") or {}
    if state.get("type") == "static_select" or "selected_option" in state:
        return str((state.get("selected_option") or {}).get("value") or "")
    return str(state.get("value") or "").strip()


def parse(values: dict[str, Any]) -> StatusDraft | dict[str, str]:
    """The submitted form as a draft, or Slack's per-field errors."""
    errors: dict[str, str] = {}
    status = _value(values, "status")
    if status not in IncidentStatus.__members__.values():
        errors["status"] = "Choose investigating, identified, monitoring or resolved."
    title, message = _value(values, "title"), _value(values, "message")
    if not title:
        errors["title"] = "The status page needs a title."
    if not message:
        errors["message"] = "The status page needs a message."
    components = []
    for block in values:
        if block.startswith("component:"):
            chosen = _value(values, block)
            if chosen and chosen != NOT_AFFECTED:
                if chosen not in ComponentStatus.__members__.values():
                    errors[block] = "Choose a component status."
                    continue
                components.append(AffectedComponent(name=block.removeprefix("component:"),
                                                    status=ComponentStatus(chosen)))
    if errors:
        return errors
    return StatusDraft(status=IncidentStatus(status), title=title[:255], message=message, components=components)


def incident_of(metadata: str) -> int | None:
    try:
        data = json.loads(metadata or "{}")
    except ValueError:
        return None
    value = data.get("incident_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None
