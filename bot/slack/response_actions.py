"""Buttons and forms of the response procedure: the status-page form, the communication checklist, the
rollback buttons (through the runbook engine and its confirmations) and the declare form. Every click and
submission is audited."""

import json
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.engine.commands import SERVICE as ENGINE
from bot.engine.commands import rollback_run
from bot.engine.preflight import Refusal
from bot.incidents.model import Incident, TimelineKind
from bot.logs import user_id
from bot.response.service import ResponseService
from bot.runtime import Runtime
from bot.slack import response_blocks as blocks
from bot.slack import statuspage_views
from bot.slack.audit import audit_interaction
from bot.slack.commands.base import Invocation
from bot.slack.commands.rollback import RollbackRequest
from bot.slack.outbox import Outbox
from bot.slack.response_views import DECLARE_VIEW, ROLLBACK_VIEW, parse_declare, parse_rollback, rollback_modal
from bot.store import incidents as incident_rows

log = logging.getLogger(__name__)

DEPLOY_HISTORY = timedelta(days=90)  # how far back the full rollback looks for the previous release


def _incident_id(raw: Any) -> int | None:
    text = str(raw or "").split(":", 1)[0]
    return int(text) if text.isdigit() else None


def register(bolt: AsyncApp, runtime: Runtime, svc: ResponseService, outbox: Outbox) -> None:
    config = runtime.config

    async def tell(respond: AsyncRespond, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def incident_from(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                            name: str) -> Incident | None:
        incident_id = _incident_id(action.get("value"))
        incident = await svc.incidents.get(incident_id) if incident_id is not None else None
        if incident is None:
            why = f"There is no incident #{incident_id}"
            await audit_interaction(runtime, body, name, str(action.get("value")), "refused", why)
            await tell(respond, f":warning: {why}. Nothing was changed.")
        return incident

    async def privately(incident_id: int | None, channel: str | None, user: str, text: str) -> None:
        """A view submission has no response URL: tell the person in the incident's channel, privately."""
        if channel is None and incident_id is not None:
            found = await svc.incidents.get(incident_id)
            channel = found.channel if found else None
        if channel is None:
            return
        async with runtime.store.transaction() as tx:
            await outbox.enqueue(tx, "chat.postEphemeral", {"channel": channel, "user": user, "text": text})
        outbox.wake()

    async def open_view(body: dict[str, Any], respond: AsyncRespond, name: str, detail: str,
                        view: dict[str, Any]) -> bool:
        try:
            await runtime.slack.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:  # e.g. the trigger expired (Slack gives three seconds)
            why = f"Slack did not open the form ({exc.response.get('error', 'error')})"
            await audit_interaction(runtime, body, name, detail, "refused", why)
            await tell(respond, f":warning: {why}; click again.")
            return False
        return True

    # -- the status page ------------------------------------------------------------------------------

    async def open_status_form(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               respond: AsyncRespond) -> None:
        await ack()
        user_id.set(body["user"]["id"])
        incident = await incident_from(body, action, respond, blocks.STATUSPAGE_OPEN)
        if incident is None:
            return
        async with runtime.store.connection() as conn:
            prompt = await svc.procedure.status_prompt_for(conn, incident, final=not incident.is_open)
        view = statuspage_views.modal(incident, prompt, list(config.statuspage.components))
        if await open_view(body, respond, blocks.STATUSPAGE_OPEN, f"incident #{incident.id}", view):
            await audit_interaction(runtime, body, blocks.STATUSPAGE_OPEN, f"incident #{incident.id}", "accepted")

    async def submit_status(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        actor = body["user"]["id"]
        user_id.set(actor)
        incident_id = statuspage_views.incident_of(view.get("private_metadata", ""))
        parsed = statuspage_views.parse(view.get("state", {}).get("values", {}))
        if incident_id is None or isinstance(parsed, dict):
            errors = parsed if isinstance(parsed, dict) else {"message": "This form lost its incident; reopen it."}
            await ack(response_action="errors", errors=errors)
            await audit_interaction(runtime, body, statuspage_views.VIEW, json.dumps(errors), "refused",
                                    "; ".join(errors.values()))
            return
        await ack()  # the status page may take a few seconds; Slack wants the form answered within three
        posted = await svc.publisher.post(incident_id, parsed, actor)
        detail = f"incident #{incident_id} {parsed.status.value}"
        if not posted.ok:
            await privately(incident_id, None, actor, f":warning: {posted.text}. Nothing was recorded.")
            await audit_interaction(runtime, body, statuspage_views.VIEW, detail, "refused", posted.text)
            return
        await audit_interaction(runtime, body, statuspage_views.VIEW, detail, "accepted")

    # -- the communication checklist ------------------------------------------------------------------

    async def comms_done(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        incident = await incident_from(body, action, respond, blocks.COMMS_DONE)
        if incident is None:
            return
        item = str(action.get("value", "")).partition(":")[2]
        if item not in blocks.COMMS:
            await audit_interaction(runtime, body, blocks.COMMS_DONE, str(action.get("value")), "refused",
                                    "unknown checklist item")
            await tell(respond, f":warning: `{item}` is not a communication checklist item.")
            return
        async with runtime.store.connection() as conn:
            ticked = [e for e in await incident_rows.latest_events(conn, incident.id, [TimelineKind.CHECKLIST.value],
                                                                   limit=50) if e.data.get("item") == item]
        if ticked:
            await audit_interaction(runtime, body, blocks.COMMS_DONE, f"incident #{incident.id} {item}", "accepted",
                                    f"already recorded by {ticked[0].actor}")
            await tell(respond, f"Already recorded by <@{ticked[0].actor}>.")
            return
        await svc.checklist_done(incident.id, item, blocks.COMMS[item], actor)
        await audit_interaction(runtime, body, blocks.COMMS_DONE, f"incident #{incident.id} {item}", "accepted")

    # -- rollbacks ------------------------------------------------------------------------------------

    async def start_rollback(body: dict[str, Any], respond: AsyncRespond | None, incident: Incident,
                             request: RollbackRequest, name: str) -> None:
        actor = body["user"]["id"]
        engine = runtime.services.get(ENGINE)
        detail = f"incident #{incident.id} {request.kind} {request.version or ''}".strip()
        if engine is None:
            why = "the runbook engine is not enabled in this build: use `/rollback`"
            await audit_interaction(runtime, body, name, detail, "refused", why)
            await _say(respond, incident, actor, f":warning: {why[0].upper()}{why[1:]}.")
            return
        invocation = Invocation(user_id=actor, channel_id=incident.channel or config.channels.incidents, text="",
                                response_url=None, trigger_id=None, thread_ts=incident.thread_ts)
        run_request = replace(rollback_run(request, invocation), incident_id=incident.id)
        try:
            run = await engine.start(run_request)
        except Refusal as refusal:
            await audit_interaction(runtime, body, name, detail, "refused", refusal.problem)
            await _say(respond, incident, actor, f":warning: {refusal.problem} Nothing was run.")
            return
        await audit_interaction(runtime, body, name, f"{detail} run #{run.id}", "accepted")
        await _say(respond, incident, actor, f"Run #{run.id} started: {run.label} in {run.environment}; follow it "
                                             f"and confirm its steps in <#{config.channels.deploys}>.")

    async def _say(respond: AsyncRespond | None, incident: Incident, user: str, text: str) -> None:
        if respond is not None:
            await tell(respond, text)
        else:
            await privately(incident.id, incident.channel, user, text)

    async def rollback_immediate(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                                 respond: AsyncRespond) -> None:
        await ack()
        user_id.set(body["user"]["id"])
        incident = await incident_from(body, action, respond, blocks.ROLLBACK_IMMEDIATE)
        if incident is not None:
            request = RollbackRequest(kind="immediate", environment=config.response.rollback_environment)
            await start_rollback(body, respond, incident, request, blocks.ROLLBACK_IMMEDIATE)

    async def rollback_full(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                            respond: AsyncRespond) -> None:
        await ack()
        user_id.set(body["user"]["id"])
        incident = await incident_from(body, action, respond, blocks.ROLLBACK_FULL)
        if incident is None:
            return
        environment = config.response.rollback_environment
        async with runtime.store.connection() as conn:
            runs = await incident_rows.runs_since(conn, svc.now() - DEPLOY_HISTORY, limit=50)
        deployed = [str(r.params.get("version")) for r in runs if r.environment == environment
                    and r.runbook.startswith("deploy") and r.status == "succeeded" and r.params.get("version")]
        suggested = deployed[1] if len(deployed) > 1 else None
        if await open_view(body, respond, blocks.ROLLBACK_FULL, f"incident #{incident.id}",
                           rollback_modal(incident.id, environment, suggested)):
            await audit_interaction(runtime, body, blocks.ROLLBACK_FULL, f"incident #{incident.id}", "accepted")

    async def submit_rollback(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id.set(body["user"]["id"])
        incident_id = statuspage_views.incident_of(view.get("private_metadata", ""))
        environment = config.response.rollback_environment
        version = parse_rollback(view.get("state", {}).get("values", {}), environment, config.environments)
        incident = await svc.incidents.get(incident_id) if incident_id is not None else None
        if isinstance(version, dict) or incident is None:
            errors = version if isinstance(version, dict) else {"version": "This form lost its incident."}
            await ack(response_action="errors", errors=errors)
            await audit_interaction(runtime, body, ROLLBACK_VIEW, json.dumps(errors), "refused",
                                    "; ".join(errors.values()))
            return
        await ack()
        request = RollbackRequest(kind="full", version=version, environment=environment)
        await start_rollback(body, None, incident, request, ROLLBACK_VIEW)

    # -- declaring from the form ----------------------------------------------------------------------

    async def submit_declare(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        actor = body["user"]["id"]
        user_id.set(actor)
        parsed = parse_declare(view.get("state", {}).get("values", {}))
        if isinstance(parsed, dict):
            await ack(response_action="errors", errors=parsed)
            await audit_interaction(runtime, body, DECLARE_VIEW, json.dumps(parsed), "refused",
                                    "; ".join(parsed.values()))
            return
        await ack()
        severity, title, description = parsed
        incident = await svc.declare(severity, title, actor, description)
        await audit_interaction(runtime, body, DECLARE_VIEW, f"{severity} #{incident.id} {title}", "accepted")
        try:
            asked_in = json.loads(view.get("private_metadata") or "{}").get("channel")
        except (ValueError, AttributeError):
            asked_in = None
        if isinstance(asked_in, str) and asked_in:
            await privately(None, asked_in, actor, f"Declared {severity} #{incident.id}: {title}.")

    bolt.action(blocks.STATUSPAGE_OPEN)(open_status_form)
    bolt.view(statuspage_views.VIEW)(submit_status)
    bolt.action(blocks.COMMS_DONE)(comms_done)
    bolt.action(blocks.ROLLBACK_IMMEDIATE)(rollback_immediate)
    bolt.action(blocks.ROLLBACK_FULL)(rollback_full)
    bolt.view(ROLLBACK_VIEW)(submit_rollback)
    bolt.view(DECLARE_VIEW)(submit_declare)
