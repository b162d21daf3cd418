"""The incident header's buttons: Acknowledge, Set severity, Silence. Every click is audited."""

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.alerts.silences import SilenceError, create_silence
from bot.incidents.lifecycle import human_duration
from bot.incidents.service import IncidentService, NoSuchIncident
from bot.incidents.severity import Severity
from bot.logs import user_id
from bot.runtime import Runtime
from bot.slack.audit import audit_interaction
from bot.slack.incident_blocks import ACK, SET_SEVERITY, SILENCE

log = logging.getLogger(__name__)

def _incident_id(action: dict[str, Any]) -> int | None:
    """Buttons carry the id as their value; the select carries it in its block_id (`incident:ID`)."""
    for raw in (action.get("value"), str(action.get("block_id", "")).removeprefix("incident:")):
        if raw and str(raw).isdigit():
            return int(raw)
    return None


def register(bolt: AsyncApp, runtime: Runtime, service: IncidentService) -> None:
    alerts_config = runtime.config.alerts

    async def tell(respond: AsyncRespond, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def refuse(body: dict[str, Any], respond: AsyncRespond, name: str, detail: str, why: str) -> None:
        await audit_interaction(runtime, body, name, detail, "refused", why)
        await tell(respond, f":warning: {why}. Nothing was changed.")

    async def acknowledge(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        incident_id = _incident_id(action)
        detail = f"incident #{incident_id}"
        if incident_id is None:
            await refuse(body, respond, ACK, str(action), "This button does not name an incident")
            return
        try:
            change = await service.acknowledge(incident_id, actor)
        except NoSuchIncident as exc:
            await refuse(body, respond, ACK, detail, str(exc).capitalize())
            return
        if not change.events:
            who = change.incident.acknowledged_by
            await audit_interaction(runtime, body, ACK, detail, "accepted", f"already acknowledged by {who}")
            await tell(respond, f"#{incident_id} was already acknowledged by <@{who}>.")
            return
        await audit_interaction(runtime, body, ACK, detail, "accepted")

    async def set_severity(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        incident_id = _incident_id(action)
        chosen = str((action.get("selected_option") or {}).get("value", ""))
        detail = f"incident #{incident_id} severity {chosen}"
        if incident_id is None or chosen not in Severity.__members__:
            await refuse(body, respond, SET_SEVERITY, detail, f"`{chosen}` is not a severity (P1, P2, P3 or P4)")
            return
        try:
            change = await service.set_severity(incident_id, Severity(chosen), actor)
        except NoSuchIncident as exc:
            await refuse(body, respond, SET_SEVERITY, detail, str(exc).capitalize())
            return
        await audit_interaction(runtime, body, SET_SEVERITY, detail, "accepted",
                                None if change.events else f"already {chosen}")

    async def silence(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        incident_id = _incident_id(action)
        detail = f"incident #{incident_id}"
        incident = await service.get(incident_id) if incident_id is not None else None
        if incident is None:
            await refuse(body, respond, SILENCE, detail, f"There is no incident #{incident_id}")
            return
        group = incident.alert_group
        base = str(alerts_config.alertmanager_url) if alerts_config.alertmanager_url else (
            group.external_url if group else "")
        if group is None or not base:
            await refuse(body, respond, SILENCE, detail, f"#{incident.id} has no Alertmanager group to silence")
            return
        if not incident.is_open:
            await refuse(body, respond, SILENCE, detail, f"#{incident.id} is already resolved")
            return
        matchers = group.identity_labels
        span = human_duration(alerts_config.silence_duration)
        try:
            made = await create_silence(
                base, matchers, now=service.clock(), duration=alerts_config.silence_duration, created_by=actor,
                comment=f"atl-bot: incident #{incident.id} ({incident.title}) silenced for {span} from Slack")
        except SilenceError as exc:
            log.warning("silence not created", extra={"incident_id": incident.id, "error": str(exc)})
            await refuse(body, respond, SILENCE, detail, f"Could not create the silence: {exc}")
            return
        await service.record_silence(incident.id, actor, made.id, made.starts_at, made.ends_at, made.matchers)
        await audit_interaction(runtime, body, SILENCE, f"{detail} silence {made.id}", "accepted")

    bolt.action(ACK)(acknowledge)
    bolt.action(SET_SEVERITY)(set_severity)
    bolt.action(SILENCE)(silence)
