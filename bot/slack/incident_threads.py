"""Incident changes → Slack, through the outbox: one header per incident, edited in place, and a thread.

- First change: the header is posted to the channel for the severity (P1/P2 → channels.incidents,
  P3/P4 → channels.alerts).
- Later changes: the header is edited (older pending edits are superseded) and the thread gets one reply
  for what changed (replies still waiting to be sent are merged).
- Severity raised from an alerts-channel severity to an incidents-channel one: the header is posted anew
  in the incidents channel and the old header and thread point there; later posts go to the new thread.
All calls of one incident share a lane, so they reach Slack in order, at most one per second.
"""

import logging
from typing import Any

from bot.config import AppConfig
from bot.incidents.events import IncidentChange, Tx
from bot.incidents.model import Incident, IncidentAlert, TimelineEvent, TimelineKind
from bot.incidents.service import alerts_of
from bot.incidents.severity import Severity
from bot.slack import incident_blocks as render
from bot.slack.outbox import Coalesce, Outbox, Ref, Sent
from bot.store import incidents as incident_rows
from bot.store.db import Store

log = logging.getLogger(__name__)

HEADER_TAG = "incident_header:"
HEADER_RENDERER = "incident_header"
# What a freshly posted header already shows; a new thread gets a reply only for the rest (e.g. resolved).
SHOWN_IN_NEW_HEADER = {TimelineKind.OPENED, TimelineKind.ALERT_FIRED, TimelineKind.SEVERITY_CHANGED}


def _not_shown(events: list[TimelineEvent]) -> list[TimelineEvent]:
    return [e for e in events if e.kind not in SHOWN_IN_NEW_HEADER]


class IncidentThreads:
    """The IncidentObserver that keeps Slack in step with incidents."""

    def __init__(self, config: AppConfig, outbox: Outbox, store: Store) -> None:
        self.config = config
        self.outbox = outbox
        self.store = store
        alerts = config.alerts
        self.view = render.HeaderView(
            zone=config.zone, key_labels=list(alerts.key_labels), dashboards=dict(config.grafana_dashboards),
            silence_for=alerts.silence_duration,
            alertmanager_url=str(alerts.alertmanager_url) if alerts.alertmanager_url else None)
        outbox.on_sent(HEADER_TAG, self._header_sent)
        outbox.renderer(HEADER_RENDERER, self._render_header)

    def channel_for(self, severity: Severity) -> str:
        return self.config.channels.incidents if severity.is_major else self.config.channels.alerts

    def committed(self) -> None:
        self.outbox.wake()

    async def changed(self, tx: Tx, change: IncidentChange) -> None:
        incident = change.incident
        target = self.channel_for(incident.severity)
        if incident.header_outbox_id is None or incident.channel is None:
            await self._new_thread(tx, change, target, _not_shown(change.events))
            return
        events = [e for e in change.events if e.kind is not TimelineKind.OPENED]
        if change.severity_raised and incident.channel == self.config.channels.alerts and target != incident.channel:
            await self._move(tx, change, target, events)
            return
        await self._edit_header(tx, incident)
        if events:
            await self._reply(tx, incident, events)

    # -- pieces ---------------------------------------------------------------------------------------

    def _lane(self, incident: Incident) -> str:
        return f"incident:{incident.id}"

    def _where(self, incident: Incident) -> tuple[dict[str, object], dict[str, Ref]]:
        """Channel and ts of the current header: known once sent, else taken from the queued post."""
        assert incident.channel is not None and incident.header_outbox_id is not None
        if incident.thread_ts:
            return {"channel": incident.channel, "ts": incident.thread_ts}, {}
        return {"channel": incident.channel}, {"ts": Ref(incident.header_outbox_id, "ts")}

    async def _new_thread(self, tx: Tx, change: IncidentChange, channel: str, replies: list[TimelineEvent]) -> None:
        incident = change.incident
        row = await self.outbox.enqueue(
            tx, "chat.postMessage",
            {"channel": channel, "incident_id": incident.id, "unfurl_links": False, "unfurl_media": False},
            ordering_key=self._lane(incident), tag=f"{HEADER_TAG}{incident.id}", render=HEADER_RENDERER)
        await incident_rows.set_header(tx, incident.id, channel, row)
        incident = change.incident = incident.changed(channel=channel, thread_ts=None, header_outbox_id=row)
        if replies:
            await self._reply(tx, incident, replies)

    async def _edit_header(self, tx: Tx, incident: Incident) -> None:
        # Rendered when sent: a burst of changes costs one render per Slack call, and shows the latest state.
        where, refs = self._where(incident)
        await self.outbox.enqueue(
            tx, "chat.update", {**where, "incident_id": incident.id},
            ordering_key=self._lane(incident), refs=refs, render=HEADER_RENDERER,
            coalesce_key=f"incident:{incident.id}:header:{incident.header_outbox_id}", coalesce=Coalesce.REPLACE)

    async def _render_header(self, args: dict[str, Any]) -> dict[str, Any]:
        """The header as the incident stands now (the outbox calls this just before sending)."""
        out = dict(args)
        async with self.store.connection() as conn:
            incident, alerts = await header_state(conn, int(out.pop("incident_id")))
        return self.header_message(out, incident, alerts)

    def header_message(self, args: dict[str, Any], incident: Incident, alerts: list[IncidentAlert]) -> dict[str, Any]:
        """`args` (where to post) with the header's text and blocks."""
        return {**args, "text": render.header_text(incident, alerts),
                "blocks": render.header(incident, alerts, self.view)}

    async def _reply(self, tx: Tx, incident: Incident, events: list[TimelineEvent]) -> None:
        where, refs = self._where(incident)
        thread = {"channel": where["channel"]}
        thread_refs = {"thread_ts": refs["ts"]} if "ts" in refs else {}
        if "ts" in where:
            thread["thread_ts"] = where["ts"]
        text, blocks = render.reply(events, self.view.zone)
        await self.outbox.enqueue(
            tx, "chat.postMessage", {**thread, "text": text, "blocks": render.to_dicts(blocks)},
            ordering_key=self._lane(incident), refs=thread_refs,
            coalesce_key=f"incident:{incident.id}:reply:{incident.header_outbox_id}", coalesce=Coalesce.APPEND)

    async def _move(self, tx: Tx, change: IncidentChange, target: str, events: list[TimelineEvent]) -> None:
        old = change.incident
        where, refs = self._where(old)
        text, blocks = render.moved(old, target)
        await self.outbox.enqueue(
            tx, "chat.update", {**where, "text": text, "blocks": render.to_dicts(blocks)},
            ordering_key=self._lane(old), refs=refs,
            coalesce_key=f"incident:{old.id}:header:{old.header_outbox_id}", coalesce=Coalesce.REPLACE)
        await self._reply(tx, old, events)
        await self._new_thread(tx, change, target, _not_shown(events))

    async def _header_sent(self, sent: Sent) -> None:
        incident_id = int((sent.tag or "").removeprefix(HEADER_TAG))
        channel, ts = sent.result.get("channel"), sent.result.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            async with self.store.connection() as conn:
                await incident_rows.set_thread_ts(conn, incident_id, sent.id, channel, ts)


async def header_state(conn: Tx, incident_id: int) -> tuple[Incident, list[IncidentAlert]]:
    """The incident and its alerts, as a header rendered now shows them; LookupError when it is gone."""
    incident = await incident_rows.get(conn, incident_id)
    if incident is None:
        raise LookupError(f"incident #{incident_id} is gone")
    return incident, await alerts_of(conn, incident)
