"""Block Kit for /oncall: who is reachable now and why, who is not and when they are back."""

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject

from bot.oncall.roster import OncallStatus, Reach, clock_label, when_label
from bot.slack.blocks import section

NO_MATRIX = ("No escalation matrix is configured: add `escalation.matrix` to the configuration "
             "(README, Configuration reference).")
NOBODY = ":rotating_light: *Nobody in the escalation matrix is reachable now.*"


def _escape(text: str) -> str:
    # Names and roles are data; in mrkdwn, &, < and > would start entities and links.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")



def _reachable_line(position: int, reach: Reach) -> str:
    contact = reach.contact
    return f"{position}. *{_escape(contact.name)}* <@{contact.slack_id}> — {_escape(contact.role)} · _{reach.why}_"


def _unreachable_line(reach: Reach, status: OncallStatus) -> str:
    contact = reach.contact
    back = f" · back {when_label(reach.back_at, status.at)}" if reach.back_at else ""
    return f"• {_escape(contact.name)} — {_escape(contact.role)} · {reach.why}{back}"


def _escalation_note(status: OncallStatus) -> str:
    rules = [f"{severity} after {minutes} min" for severity, minutes in status.ack_timeouts.model_dump().items()
             if minutes]
    escalation = ("Unacknowledged incidents escalate to the next person: " + ", ".join(rules)) if rules else \
        "No automatic escalation is configured"
    return f"{escalation} · times in {status.zone.key}"


def oncall_blocks(status: OncallStatus) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=f"On call · {clock_label(status.at)}")]
    if not status.people:
        return [*blocks, section(NO_MATRIX)]
    reachable = status.reachable
    if reachable:
        lines = [_reachable_line(i, reach) for i, reach in enumerate(reachable, start=1)]
        blocks.append(section("*Reachable now*, in escalation order:\n" + "\n".join(lines)))
    else:
        blocks.append(section(NOBODY))
    if status.unreachable:
        lines = [_unreachable_line(reach, status) for reach in status.unreachable]
        blocks += [DividerBlock(), section("*Not reachable now:*\n" + "\n".join(lines))]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_escalation_note(status))]))
    return blocks


def oncall_text(status: OncallStatus) -> str:
    """The notification and screen-reader text of the same reply."""
    if not status.people:
        return NO_MATRIX
    reachable = "; ".join(f"{r.contact.name} ({r.why})" for r in status.reachable) or "nobody"
    text = f"Reachable now ({clock_label(status.at)}): {reachable}."
    if status.unreachable:
        text += " Not reachable: " + "; ".join(f"{r.contact.name} ({r.why})" for r in status.unreachable) + "."
    return text
