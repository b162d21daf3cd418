"""Modals of the response procedure besides the status page's: declaring an incident, and the full
rollback's version. Each comes with the parser of its submission (values, or Slack's per-field errors)."""

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.config.environments import EnvironmentConfig
from bot.errors import UsageError
from bot.incidents.severity import Severity
from bot.slack.commands import grammar

DECLARE_VIEW = "incident_declare"
ROLLBACK_VIEW = "incident_rollback_full"
TITLE_LIMIT = 150


def _severity_option(severity: Severity) -> Option:
    return Option(value=severity.value, text=PlainTextObject(text=f"{severity.value} — {severity.description}"[:75]))


def declare_modal(default: Severity, metadata: str) -> dict[str, Any]:
    view = View(type="modal", callback_id=DECLARE_VIEW, title=PlainTextObject(text="Declare an incident"),
                submit=PlainTextObject(text="Declare"), close=PlainTextObject(text="Cancel"),
                private_metadata=metadata, blocks=[
                    InputBlock(block_id="severity", label=PlainTextObject(text="Severity"),
                               element=StaticSelectElement(action_id="value",
                                                           options=[_severity_option(s) for s in Severity],
                                                           initial_option=_severity_option(default))),
                    InputBlock(block_id="title", label=PlainTextObject(text="What is wrong"),
                               element=PlainTextInputElement(action_id="value", max_length=TITLE_LIMIT,
                                                             placeholder=PlainTextObject(text="checkout failing"))),
                    InputBlock(block_id="description", label=PlainTextObject(text="What you know so far"),
                               optional=True, element=PlainTextInputElement(action_id="value", multiline=True,
                                                                            max_length=2000)),
                ])
    out: dict[str, Any] = view.to_dict()
    return out


def _value(values: dict[str, Any], block: str) -> str:
    state = (values.get(block) or {}).get("value") or {}
    if "selected_option" in state:
        return str((state.get("selected_option") or {}).get("value") or "")
    return str(state.get("value") or "").strip()


def parse_declare(values: dict[str, Any]) -> tuple[Severity, str, str | None] | dict[str, str]:
    errors: dict[str, str] = {}
    severity = _value(values, "severity")
    if severity not in Severity.__members__:
        errors["severity"] = "Choose P1, P2, P3 or P4."
    title = " ".join(_value(values, "title").split())
    if not title:
        errors["title"] = "The incident needs a title."
    elif len(title) > TITLE_LIMIT:
        errors["title"] = f"Keep the title under {TITLE_LIMIT} characters."
    if errors:
        return errors
    return Severity(severity), title, _value(values, "description") or None


def rollback_modal(incident_id: int, environment: str, suggested: str | None) -> dict[str, Any]:
    hint = f"The last successful deploy before the current one was {suggested}." if suggested else \
        "No earlier successful deploy is on record; give the tag to go back to."
    view = View(type="modal", callback_id=ROLLBACK_VIEW, title=PlainTextObject(text="Full rollback"),
                submit=PlainTextObject(text="Start rollback"), close=PlainTextObject(text="Cancel"),
                private_metadata=json.dumps({"incident_id": incident_id}), blocks=[
                    InputBlock(block_id="version", label=PlainTextObject(text=f"Version to roll {environment} back to"),
                               element=PlainTextInputElement(action_id="value", initial_value=suggested or None,
                                                             placeholder=PlainTextObject(text="v0.9.0"))),
                    ContextBlock(elements=[MarkdownTextObject(text=(
                        f"{hint} The runbook's full rollback runs in {environment}; its dangerous steps ask for "
                        "confirmation in the deploys channel."))]),
                ])
    out: dict[str, Any] = view.to_dict()
    return out


def parse_rollback(values: dict[str, Any], environment: str, environments: Mapping[str, EnvironmentConfig]
                   ) -> str | dict[str, str]:
    """The version, or the field's error: told in the form, before anything starts."""
    version = _value(values, "version")
    try:
        grammar.release_tag(grammar.version(version, "v1.2.3"), environment, environments, "v1.2.3")
    except UsageError as err:
        return {"version": err.problem}
    return version
