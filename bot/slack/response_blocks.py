"""Block Kit for the response procedure: checklists, paging, diagnostics, phase prompts, and the
/incident status and timeline replies (slack_sdk models; the status-page prompt is in statuspage_views)."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
)

from bot.incidents.lifecycle import human_duration
from bot.incidents.model import Incident, TimelineEvent
from bot.response.diagnostics import Finding
from bot.response.escalation import PageDecision
from bot.response.prompts import OpenPlan, PhaseContext
from bot.slack.blocks import SECTION_LIMIT, clip, context, section
from bot.slack.incident_blocks import ACK, escape, event_line

STATUSPAGE_OPEN = "incident_statuspage_open"
COMMS_DONE = "incident_comms_done"
ROLLBACK_IMMEDIATE = "incident_rollback_immediate"
ROLLBACK_FULL = "incident_rollback_full"

MESSAGE_BLOCKS = 50
COMMS = {"stakeholders": "Stakeholders notified via Slack", "customers": "Customer communication sent"}
CHECK = {True: ":white_check_mark:", False: ":x:", None: ":information_source:"}


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def name(incident: Incident) -> str:
    return f"{incident.severity} #{incident.id}"


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def _button(text: str, action_id: str, value: str, style: str | None = None,
            confirm: ConfirmObject | None = None) -> ButtonElement:
    return ButtonElement(text=PlainTextObject(text=text), action_id=action_id, value=value, style=style,
                         confirm=confirm)


def comms_actions(incident: Incident) -> ActionsBlock:
    """The runbook's communication checklist as buttons: status page (a form), stakeholders, customers."""
    value = str(incident.id)
    return ActionsBlock(block_id=f"incident:{incident.id}:comms", elements=[
        _button("Update status page…", STATUSPAGE_OPEN, value, "primary"),
        _button("Stakeholders notified", COMMS_DONE, f"{incident.id}:stakeholders"),
        _button("Customers notified", COMMS_DONE, f"{incident.id}:customers"),
    ])


def opened(incident: Incident, plan: OpenPlan, zone: ZoneInfo) -> tuple[str, list[Block]]:
    """The immediate-actions checklist (the runbook's 0–15 min) and the communication checklist."""
    lines = [
        f":clipboard: *{name(incident)} response — immediate actions*",
        ":hourglass_flowing_sand: Running now: health checks, recent deployments, error-log counts "
        "(results follow in this thread)",
        "• Check system status: `/health`",
        "• Check recent deployments: `/incident timeline` shows runs tied to this incident",
        "• Review error logs",
        "• Acknowledge: `/incident ack` · name a commander: `/incident commander @user`",
    ]
    due = [f"{phase} prompt at {local(at, zone)}" for phase, at in sorted(plan.phases.items(), key=lambda p: p[1])]
    later = []
    if due:
        later.append("Next: " + ", ".join(due))
    if plan.ack_timeout_min:
        later.append(f"unacknowledged pages escalate every {plan.ack_timeout_min} min")
    if plan.status_page_every_min:
        later.append(f"status-page prompts every {plan.status_page_every_min} min")
    if plan.matrix_empty:
        later.append("no escalation matrix is configured, so nobody is paged (`escalation.matrix`)")
    blocks: list[Block] = [section("\n".join(lines))]
    if later:
        blocks.append(context(" · ".join(later) + f" · times in {zone.key}"))
    blocks += [section("*Communication:* update the status page · notify stakeholders via Slack · send customer "
                       "communication if needed"), comms_actions(incident)]
    return f"{name(incident)}: immediate actions checklist", blocks


def paged(incident: Incident, decision: PageDecision, level: int, already: list[str]) -> tuple[str, list[Block]]:
    if decision.page is None:
        if level == 1:
            why = "; ".join(f"{escape(r.contact.name)}: {r.why}" for r in decision.unreachable)
            text = f":warning: *Nobody in the escalation matrix is reachable now* for {name(incident)}. {why}"
        else:
            called = ", ".join(f"<@{who}>" for who in already)
            text = (f":warning: *Everyone reachable has been paged for {name(incident)} and nobody acknowledged* "
                    f"({called}). Call them directly.")
        return text, [section(text)]
    contact = decision.page.contact
    verb = "Escalating to" if level > 1 else "Paging"
    text = (f":rotating_light: {verb} <@{contact.slack_id}> ({escape(contact.role)}, {decision.page.why}) "
            f"for *{name(incident)} · {escape(incident.title)}*: please acknowledge.")
    blocks: list[Block] = [section(text)]
    notes = []
    if decision.after and decision.timeout:
        nxt = decision.after[0].contact
        notes.append(f"No acknowledgement within {human_duration(decision.timeout)}: "
                     f"{escape(nxt.name)} ({escape(nxt.role)}) is next")
    if already:
        notes.append("Paged before: " + ", ".join(f"<@{who}>" for who in already))
    if notes:
        blocks.append(context(" · ".join(notes)))
    blocks.append(ActionsBlock(block_id=f"incident:{incident.id}:page", elements=[
        _button("Acknowledge", ACK, str(incident.id), "primary")]))
    return f"{verb} {contact.name} for {name(incident)}", blocks


def diagnostics(incident: Incident, findings: list[Finding]) -> tuple[str, list[Block]]:
    titles = {"health": "Health checks", "recent_runs": "Recent deployments", "error_logs": "Error logs"}
    blocks: list[Block] = [section(f":stethoscope: *Automatic diagnostics for {name(incident)}*")]
    for f in findings:
        text = f"{CHECK[f.ok]} *{titles.get(f.check, f.check)}:* {escape(f.summary)}"
        if f.lines and f.check == "recent_runs":
            text += "\n" + "\n".join(f.lines)  # our own records, with mentions of who ran them
        elif f.lines:
            text += "\n```" + "\n".join(escape(line) for line in f.lines) + "```"
        blocks.append(section(text))
    return f"{name(incident)} diagnostics: " + "; ".join(f.summary for f in findings), blocks


def phase(incident: Incident, which: str, ctx: PhaseContext, dashboards: dict[str, str],
          zone: ZoneInfo) -> tuple[str, list[Block]]:
    if which == "diagnosis":
        links = " · ".join(f"<{url}|{escape(label)}>" for label, url in dashboards.items()) or \
            "no dashboards configured (`grafana_dashboards`)"
        changes = "\n".join(
            f"• #{r.id} {escape(r.runbook)} in {escape(r.environment)} by <@{r.requested_by}> — {r.status}, "
            f"{local(r.created_at, zone)}" for r in ctx.recent_runs) or "• no deployments or rollbacks recently"
        text = (f":mag: *{name(incident)} — diagnosis*\n• Check monitoring dashboards: {links}\n"
                f"• Review recent changes:\n{changes}\n"
                "• Identify the root cause and record it: `/incident note root cause: …`")
        blocks: list[Block] = [section(text)]
        if ctx.next_phase_at:
            blocks.append(context(f"Resolution prompt at {local(ctx.next_phase_at, zone)}"))
        return f"{name(incident)}: diagnosis prompt", blocks
    env = ctx.rollback_environment
    text = (f":hammer_and_wrench: *{name(incident)} — resolution*\n"
            f"• Execute a rollback if needed (each goes through the runbook's confirmations, in {env})\n"
            "• Apply a hotfix if identified: `/deploy vX.Y.Z`\n• Scale resources if it is a capacity issue")
    confirm = ConfirmObject(title=PlainTextObject(text="Immediate rollback?"),
                            text=MarkdownTextObject(text=f"Starts the runbook's immediate rollback in {env}: nginx "
                                                         "back to the previous colour. Dangerous steps still ask "
                                                         "for confirmation."),
                            confirm=PlainTextObject(text="Start rollback"), deny=PlainTextObject(text="Cancel"),
                            style="danger")
    return f"{name(incident)}: resolution prompt", [section(text), ActionsBlock(
        block_id=f"incident:{incident.id}:rollback", elements=[
            _button("Immediate rollback", ROLLBACK_IMMEDIATE, str(incident.id), "danger", confirm),
            _button("Full rollback…", ROLLBACK_FULL, str(incident.id))])]


def header_extra(incident: Incident, now: datetime, status_page: str, paged: list[str], phase_now: str | None,
                 ) -> dict[str, Any]:
    """A line under the header: commander, elapsed time, procedure phase, status page, who was paged."""
    parts = [f"*Commander:* <@{incident.commander}>" if incident.commander else "*Commander:* none yet"]
    if incident.is_open:
        parts.append(f"*Open for* {human_duration(now - incident.opened_at)}")
    if phase_now:
        parts.append(f"*Phase:* {phase_now}")
    parts.append(f"*Status page:* {status_page}")
    if paged:
        parts.append("*Paged:* " + ", ".join(f"<@{who}>" for who in paged))
    block: dict[str, Any] = context(" · ".join(parts)).to_dict()
    block["block_id"] = f"incident:{incident.id}:procedure"
    return block


def status_reply(incident: Incident, now: datetime, zone: ZoneInfo, extra: list[str]) -> tuple[str, list[Block]]:
    state = "open" if incident.is_open else "resolved"
    took = human_duration((incident.resolved_at or now) - incident.opened_at)
    lines = [
        f"*Status:* {state} ({'for' if incident.is_open else 'after'} {took})",
        f"*Severity:* {incident.severity} — {escape(incident.severity.description)}",
        f"*Commander:* <@{incident.commander}>" if incident.commander else "*Commander:* none yet",
        f"*Acknowledged:* <@{incident.acknowledged_by}> at {local(incident.acknowledged_at, zone)}"
        if incident.acknowledged_by and incident.acknowledged_at else "*Acknowledged:* not yet",
        *extra,
    ]
    if incident.channel and incident.thread_ts:
        lines.append(f"*Thread:* <#{incident.channel}>")
    if incident.summary:
        lines.append(f"*Summary:* {escape(incident.summary)}")
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=clip(f"{name(incident)} · {incident.title}", 150))),
                           section("\n".join(lines))]
    if incident.is_open:
        blocks.append(comms_actions(incident))
    text = f"{name(incident)} {state}: {incident.title}"
    return text, blocks


def timeline_reply(incident: Incident, events: list[TimelineEvent], zone: ZoneInfo) -> tuple[str, list[Block]]:
    """Every event, in sections of at most 3000 characters; the oldest are cut if it gets too long."""
    lines = [event_line(e, zone) for e in events] or ["_Nothing recorded yet._"]
    chunks: list[str] = []
    for line in lines:
        line = clip(line, 1000)
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    room = MESSAGE_BLOCKS - 2
    cut = max(0, len(chunks) - room)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=clip(f"Timeline · {name(incident)}", 150)))]
    if cut:
        blocks.append(context(f"Earlier events left out; `atl-bot incidents export {incident.id}` has all of them"))
    blocks += [section(chunk) for chunk in chunks[cut:]]
    return f"Timeline of {name(incident)}: {len(events)} events", blocks
