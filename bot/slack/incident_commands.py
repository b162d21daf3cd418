"""What each /incident subcommand does once parsed: inside an incident thread the incident is implied,
elsewhere #ID, or the only open incident. A request that cannot apply gets an ephemeral error with the
correct form (and an audit row saying why); nothing changes."""

import json
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.errors import UsageError
from bot.incidents.model import Incident, TimelineKind
from bot.incidents.severity import Severity
from bot.response.procedure import PHASE, STATUS_PROMPT
from bot.response.service import NotFound, ResponseService
from bot.response.statuspage import state_of
from bot.runtime import Runtime
from bot.slack import blocks as command_blocks
from bot.slack import response_blocks as blocks
from bot.slack.commands import COMMANDS
from bot.slack.commands.base import Invocation, Reply
from bot.slack.commands.incident import (
    Acknowledge,
    Declare,
    IncidentRequest,
    Note,
    Resolve,
    SetCommander,
    SetSeverity,
    Status,
    Timeline,
)
from bot.slack.response_views import declare_modal
from bot.store.audit import AuditEntry, record

SERVICE = "response"
USAGES: dict[type, str] = {
    Declare: "/incident declare [P1-P4] TITLE   e.g. /incident declare P2 checkout failing",
    SetSeverity: "/incident [#ID] sev P1|P2|P3|P4",
    Acknowledge: "/incident [#ID] ack",
    SetCommander: "/incident [#ID] commander @user",
    Note: "/incident [#ID] note TEXT   (follow-up: TEXT for a postmortem follow-up)",
    Status: "/incident [#ID] status",
    Timeline: "/incident [#ID] timeline",
    Resolve: "/incident [#ID] resolve SUMMARY",
}


def service(runtime: Runtime) -> ResponseService:
    found: ResponseService = runtime.services[SERVICE]
    return found


async def refuse(runtime: Runtime, invocation: Invocation, request: Any, problem: str) -> Reply:
    await record(runtime.store, AuditEntry(invocation.user_id, "command", "/incident", invocation.text,
                                           invocation.channel_id, "refused", problem))
    error = UsageError(problem, USAGES.get(type(request), "/incident help"))
    return Reply(text=str(error), blocks=command_blocks.usage_error_blocks(error))


async def target(runtime: Runtime, invocation: Invocation, request: IncidentRequest,
                 *, open_only: bool = False) -> Incident | Reply:
    found = await service(runtime).select(request.incident_id, invocation.channel_id, invocation.thread_ts)
    if isinstance(found, NotFound):
        return await refuse(runtime, invocation, request, found.problem)
    if open_only and not found.is_open:
        return await refuse(runtime, invocation, request, f"#{found.id} is already resolved; nothing to change.")
    return found


def done(text: str) -> Reply:
    return Reply(text=text, blocks=command_blocks.notice_blocks(text))


async def declare(runtime: Runtime, invocation: Invocation, request: Any) -> Reply | None:
    assert isinstance(request, Declare)
    svc = service(runtime)
    if request.title is None:
        if not invocation.trigger_id:
            return await refuse(runtime, invocation, request, "Slack sent no trigger to open the form; give the "
                                                               "severity and title instead.")
        view = declare_modal(runtime.config.response.default_severity,
                             json.dumps({"channel": invocation.channel_id}))
        try:
            await runtime.slack.views_open(trigger_id=invocation.trigger_id, view=view)
        except SlackApiError as exc:  # e.g. the trigger expired: Slack gives three seconds
            return await refuse(runtime, invocation, request, f"Slack did not open the form "
                                f"({exc.response.get('error', 'error')}); give the severity and title instead.")
        return None
    severity = Severity(request.severity) if request.severity else runtime.config.response.default_severity
    incident = await svc.declare(severity, request.title, invocation.user_id)
    channel = runtime.config.channels.incidents if severity.is_major else runtime.config.channels.alerts
    return done(f"Declared {severity} #{incident.id}: {request.title}. Its thread is in <#{channel}>; "
                f"run `/incident #{incident.id} …` there or anywhere.")


async def set_severity(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, SetSeverity)
    incident = await target(runtime, invocation, request, open_only=True)
    if isinstance(incident, Reply):
        return incident
    change = await service(runtime).set_severity(incident.id, Severity(request.severity), invocation.user_id)
    if not change.events:
        return done(f"#{incident.id} is already {request.severity}.")
    return done(f"#{incident.id} severity {incident.severity} → {request.severity}.")


async def acknowledge(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, Acknowledge)
    incident = await target(runtime, invocation, request, open_only=True)
    if isinstance(incident, Reply):
        return incident
    change = await service(runtime).acknowledge(incident.id, invocation.user_id)
    if not change.events:
        return done(f"#{incident.id} was already acknowledged by <@{change.incident.acknowledged_by}>.")
    return done(f"You acknowledged {incident.severity} #{incident.id}; escalation stopped.")


async def set_commander(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, SetCommander)
    incident = await target(runtime, invocation, request, open_only=True)
    if isinstance(incident, Reply):
        return incident
    change = await service(runtime).set_commander(incident.id, request.user_id, invocation.user_id)
    if not change.events:
        return done(f"<@{request.user_id}> is already the commander of #{incident.id}.")
    return done(f"<@{request.user_id}> is now the incident commander of #{incident.id}.")


async def note(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, Note)
    incident = await target(runtime, invocation, request)
    if isinstance(incident, Reply):
        return incident
    change = await service(runtime).note(incident.id, request.text, invocation.user_id)
    follow_up = any(e.data.get("follow_up") for e in change.events)
    return done(f"{'Follow-up' if follow_up else 'Note'} added to #{incident.id}'s timeline.")


async def status(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, Status)
    incident = await target(runtime, invocation, request)
    if isinstance(incident, Reply):
        return incident
    svc = service(runtime)
    zone = runtime.config.zone
    timeline = await svc.timeline(incident.id)
    extra = []
    state = state_of(timeline)
    if state.posted and state.status and state.at:
        extra.append(f"*Status page:* {state.status.value} at {blocks.local(state.at, zone)}"
                     + (" (by hand)" if state.manual else ""))
    else:
        extra.append("*Status page:* nothing posted yet")
    paged = [who for e in timeline if e.kind is TimelineKind.ESCALATED for who in e.data.get("paged", [])]
    if paged:
        extra.append("*Paged:* " + ", ".join(f"<@{who}>" for who in paged))
    upcoming = []
    for timer in await svc.pending_timers(incident.id):
        if timer.kind == PHASE:
            upcoming.append(f"{timer.payload.get('phase')} prompt at {blocks.local(timer.due_at, zone)}")
        elif timer.kind == STATUS_PROMPT:
            upcoming.append(f"status-page prompt at {blocks.local(timer.due_at, zone)}")
    if upcoming:
        extra.append("*Next:* " + ", ".join(upcoming))
    text, content = blocks.status_reply(incident, svc.now(), zone, extra)
    return Reply(text=text, blocks=content)


async def timeline(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, Timeline)
    incident = await target(runtime, invocation, request)
    if isinstance(incident, Reply):
        return incident
    text, content = blocks.timeline_reply(incident, await service(runtime).timeline(incident.id),
                                          runtime.config.zone)
    return Reply(text=text, blocks=content)


async def resolve(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, Resolve)
    incident = await target(runtime, invocation, request, open_only=True)
    if isinstance(incident, Reply):
        return incident
    change = await service(runtime).resolve(incident.id, request.summary, invocation.user_id)
    if not change.events:
        return await refuse(runtime, invocation, request, f"#{incident.id} is already resolved.")
    took = change.events[-1].data.get("duration_s", 0)
    return done(f"Resolved {incident.severity} #{incident.id} after {int(took) // 60} min. The timers stopped; "
                f"the postmortem is `atl-bot incidents export {incident.id}`.")


def register() -> None:
    executors = COMMANDS["/incident"].executors
    executors[Declare] = declare
    executors[SetSeverity] = set_severity
    executors[Acknowledge] = acknowledge
    executors[SetCommander] = set_commander
    executors[Note] = note
    executors[Status] = status
    executors[Timeline] = timeline
    executors[Resolve] = resolve
