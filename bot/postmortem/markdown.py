"""A postmortem as Markdown: summary, impact, key times, timeline, actions with approvers, follow-ups."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.incidents.lifecycle import human_duration
from bot.postmortem.build import Postmortem

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def _who(actor: str | None) -> str:
    if not actor:
        return "the bot"
    return f"@{actor}" if actor[:1] in ("U", "W") else actor


def _plain(text: str) -> str:
    """Slack markup as a reader of a Markdown file sees it: mentions as @ID, table pipes escaped."""
    return _MENTION.sub(lambda m: "@" + m.group(1), text).replace("|", "\\|").replace("\n", " ")


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "—"


def _took(span: timedelta | None) -> str:
    return human_duration(span) if span is not None else "—"


def render(pm: Postmortem, zone: ZoneInfo) -> str:
    inc = pm.incident
    origin = f"declared by {_who(inc.declared_by)}" if inc.source.value == "declared" else "opened by Alertmanager"
    status = "resolved" if not inc.is_open else "still open"
    out = [
        f"# Postmortem: {inc.severity} #{inc.id} — {_plain(inc.title)}",
        "",
        "## Summary",
        "",
        f"- **Severity:** {inc.severity} ({inc.severity.description})",
        f"- **Status:** {status}" + (f" by {_who(inc.resolved_by)}" if inc.resolved_by else ""),
        f"- **Origin:** {origin}",
        f"- **Commander:** {_who(inc.commander) if inc.commander else 'none named'}",
        f"- **Resolution:** {_plain(inc.summary) if inc.summary else 'no summary given'}",
        "",
        "## Impact",
        "",
        f"- **Duration:** {_took(pm.time_to_resolve)} ({_at(inc.opened_at, zone)} → {_at(inc.resolved_at, zone)})",
        f"- **Affected components:** {', '.join(pm.components) or 'none recorded on the status page'}",
        f"- **Status-page updates:** {pm.status_page_updates}",
    ]
    if pm.alerts:
        out.append(f"- **Alerts:** {', '.join(pm.alerts)}")
    if inc.reopened_count:
        out.append(f"- **Reopened:** {inc.reopened_count} time(s)")
    out += [
        "",
        "## Key times",
        "",
        "| Measure | Time | At |",
        "|---|---|---|",
        f"| Time to acknowledge | {_took(pm.time_to_acknowledge)} | {_at(inc.acknowledged_at, zone)}"
        + (f" by {_who(inc.acknowledged_by)}" if inc.acknowledged_by else "") + " |",
        f"| Time to mitigate | {_took(pm.time_to_mitigate)} | {_at(pm.mitigated_at, zone)} ({pm.mitigated_by}) |",
        f"| Time to resolve | {_took(pm.time_to_resolve)} | {_at(inc.resolved_at, zone)} |",
        "",
        "## Timeline",
        "",
        f"Times in {zone.key}.",
        "",
        "| Time | Event | Who | What |",
        "|---|---|---|---|",
    ]
    out += [f"| {_at(e.at, zone)} | {e.kind.value} | {_who(e.actor)} | {_plain(e.text)} |" for e in pm.timeline]
    out += ["", "## Actions", ""]
    if not pm.actions:
        out.append("No runbook ran as part of this incident.")
    for action in pm.actions:
        run = action.run
        shown = " ".join(str(v) for v in run.params.values() if v not in (None, False, ""))
        out.append(f"- **Run #{run.id}** `{run.runbook}{' ' + shown if shown else ''}` in {run.environment}, "
                   f"requested by {_who(run.requested_by)} at {_at(run.created_at, zone)}: **{run.status}**"
                   + (f" ({_at(run.finished_at, zone)})" if run.finished_at else ""))
        for approval in action.approvals:
            verdict = (f"approved by {_who(approval.approved_by)} at {_at(approval.decided_at, zone)}"
                       if approval.approved_by else approval.decision)
            out.append(f"  - step {approval.position + 1} ({_plain(approval.step) or 'dangerous step'}): {verdict}")
    out += ["", "## Follow-ups", ""]
    if pm.follow_ups:
        out += [f"- [ ] {_plain(str(e.data.get('note') or e.text))} ({_who(e.actor)}, {_at(e.at, zone)})"
                for e in pm.follow_ups]
    else:
        out.append("None recorded. Add them with `/incident note follow-up: …`.")
    return "\n".join(out) + "\n"
