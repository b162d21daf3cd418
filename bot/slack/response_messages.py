"""The response procedure → Slack: its messages in the incident's thread (through the outbox, in the same
lane as the header so they arrive after it, in order), the header's procedure line, and the postmortem file.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AppConfig
from bot.incidents.events import Tx
from bot.incidents.model import Incident, TimelineKind
from bot.response import procedure
from bot.response.diagnostics import Finding
from bot.response.escalation import PageDecision
from bot.response.prompts import OpenPlan, PhaseContext, StatusPrompt
from bot.response.statuspage import state_of
from bot.slack import response_blocks as blocks
from bot.slack import statuspage_views
from bot.slack.incident_threads import HEADER_RENDERER, IncidentThreads, header_state
from bot.slack.outbox import Outbox, Ref
from bot.store import incidents as incident_rows
from bot.store import timers as timer_rows
from bot.store.db import Store

log = logging.getLogger(__name__)


def lane(incident: Incident) -> str:
    # The thread publisher's lane (bot.slack.incident_threads): replies queue behind the header post.
    return f"incident:{incident.id}"


class ResponseMessages:
    """Implements bot.response.prompts.Prompts for Slack."""

    def __init__(self, config: AppConfig, outbox: Outbox, store: Store, client: AsyncWebClient,
                 threads: IncidentThreads, now: Callable[[], datetime]) -> None:
        self.config = config
        self.outbox = outbox
        self.store = store
        self.client = client
        self.threads = threads
        self.now = now
        self.zone = config.zone

    # -- thread messages -------------------------------------------------------------------------------

    async def _post(self, tx: Tx, incident: Incident, text: str, content: list[Block]) -> None:
        if incident.channel is None or incident.header_outbox_id is None:
            log.warning("incident has no thread to post in", extra={"incident_id": incident.id})
            return
        args: dict[str, Any] = {"channel": incident.channel, "text": blocks.clip(text, 3000),
                                "blocks": blocks.dicts(content), "unfurl_links": False}
        refs: dict[str, Ref] = {}
        if incident.thread_ts:
            args["thread_ts"] = incident.thread_ts
        else:
            refs["thread_ts"] = Ref(incident.header_outbox_id, "ts")
        await self.outbox.enqueue(tx, "chat.postMessage", args, ordering_key=lane(incident), refs=refs)

    async def opened(self, tx: Tx, incident: Incident, plan: OpenPlan) -> None:
        await self._post(tx, incident, *blocks.opened(incident, plan, self.zone))

    async def paged(self, tx: Tx, incident: Incident, decision: PageDecision, level: int, paged: list[str]) -> None:
        await self._post(tx, incident, *blocks.paged(incident, decision, level, paged))

    async def diagnostics(self, tx: Tx, incident: Incident, findings: list[Finding]) -> None:
        await self._post(tx, incident, *blocks.diagnostics(incident, findings))

    async def phase(self, tx: Tx, incident: Incident, phase: str, context: PhaseContext) -> None:
        await self._post(tx, incident, *blocks.phase(incident, phase, context, dict(self.config.grafana_dashboards),
                                                     self.zone))

    async def status_prompt(self, tx: Tx, incident: Incident, prompt: StatusPrompt) -> None:
        await self._post(tx, incident, *statuspage_views.prompt_blocks(incident, prompt, self.zone))

    # -- the header -------------------------------------------------------------------------------------

    def install_header(self) -> None:
        """Render incident headers with the procedure's line (commander, elapsed, phase, status page)."""
        self.outbox.renderer(HEADER_RENDERER, self.render_header)

    async def render_header(self, args: dict[str, Any]) -> dict[str, Any]:
        # As the thread publisher renders it (bot.slack.incident_threads), plus one context block.
        out = dict(args)
        incident_id = int(out.pop("incident_id"))
        async with self.store.connection() as conn:
            incident, alerts = await header_state(conn, incident_id)
            timeline = await incident_rows.timeline(conn, incident_id,
                                                    (TimelineKind.STATUS_PAGE, TimelineKind.ESCALATED))
            pending = {str(t.payload.get("phase")) for t in await timer_rows.pending(conn, incident_id=incident_id)
                       if t.kind == procedure.PHASE}
        out = self.threads.header_message(out, incident, alerts)
        rendered = out["blocks"]
        extra = blocks.header_extra(incident, self.now(), self._status_page_line(timeline),
                                    [who for e in timeline if e.kind is TimelineKind.ESCALATED
                                     for who in e.data.get("paged", [])], self._phase(incident, pending))
        at = next((i for i, b in enumerate(rendered) if b.get("type") == "actions"), len(rendered))
        out["blocks"] = [*rendered[:at], extra, *rendered[at:]]
        return out

    def _status_page_line(self, timeline: list[Any]) -> str:
        state = state_of(timeline)
        if not state.posted:
            return "nothing posted"
        when = blocks.local(state.at, self.zone) if state.at else "?"
        status = state.status.value if state.status else "?"
        link = f" <{state.ref.url}|link>" if state.ref and state.ref.url else ""
        return f"{status} ({when}{', by hand' if state.manual else ''}){link}"

    def _phase(self, incident: Incident, pending: set[str]) -> str | None:
        if not incident.is_open or self.config.response.phase_offsets(incident.severity) is None:
            return None
        if "diagnosis" in pending:
            return "immediate actions"
        return "diagnosis" if "resolution" in pending else "resolution"

    # -- the postmortem ---------------------------------------------------------------------------------

    async def upload_postmortem(self, incident: Incident, markdown: str) -> None:
        if incident.channel is None or incident.thread_ts is None:
            # The header is not posted yet: the timer retries after its backoff.
            raise RuntimeError(f"incident #{incident.id} has no Slack thread yet")
        await self.client.files_upload_v2(
            channel=incident.channel, thread_ts=incident.thread_ts, content=markdown.encode(),
            filename=f"incident-{incident.id}-postmortem.md", title=f"Postmortem: {incident.severity} #{incident.id}",
            initial_comment=f":memo: Postmortem draft for {incident.severity} #{incident.id}; also "
                            f"`atl-bot incidents export {incident.id}`.",
            request_file_info=False)
