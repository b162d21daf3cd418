"""Posting an update to the status page and recording it on the timeline.

The first update creates the status-page incident, later ones update that same one (its reference is on
the timeline), a resolved update closes it. Without a status page configured, the update is recorded as
posted by hand, so the thread and the postmortem still know what the public was told.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.coord import Coordination
from bot.incidents.events import IncidentChange, Tx
from bot.incidents.model import Incident
from bot.incidents.service import IncidentService, NoSuchIncident, Step
from bot.response import steps
from bot.response.statuspage import STATE_KINDS, StatusPageState, state_of
from bot.statuspage import (
    IncidentStatus,
    StatusDraft,
    StatusPage,
    StatusPageError,
    StatusPageOutcomeUnknown,
    StatusRef,
)
from bot.store import incidents as incident_rows
from bot.store.db import Store

# Longer than a create can take at worst: 4 attempts of 15 s, their back-offs, and the duplicate lookups.
LOCK_TTL_S = 300.0
# Records a step inside the caller's transaction (Procedure.apply).
Recorder = Callable[[Tx, int, Step], Awaitable[IncidentChange]]
MITIGATING = {IncidentStatus.MONITORING, IncidentStatus.RESOLVED}


@dataclass(frozen=True)
class Posted:
    ok: bool
    text: str  # what to tell the person
    ref: StatusRef | None = None


def _record_data(draft: StatusDraft, ref: StatusRef | None, manual: bool) -> dict[str, Any]:
    return {"title": draft.title, "message": draft.message, "manual": manual,
            "components": [c.model_dump(mode="json") for c in draft.components],
            "ref": ref.model_dump(mode="json") if ref else None}


def _describe(draft: StatusDraft, ref: StatusRef | None, page: StatusPage, created: bool, manual: bool) -> str:
    where = "recorded as posted by hand" if manual else (
        f"{'created on' if created else 'posted to'} {page.name}" + (f" ({ref.url})" if ref and ref.url else ""))
    parts = ", ".join(f"{c.name} {c.status.value.replace('_', ' ')}" for c in draft.components)
    return f"Status page {draft.status.value}: {where}" + (f"; {parts}" if parts else "")


class StatusPublisher:
    def __init__(self, store: Store, coord: Coordination, page: StatusPage, incidents: IncidentService) -> None:
        self.store = store
        self.coord = coord
        self.page = page
        self.incidents = incidents

    async def state(self, incident_id: int) -> StatusPageState:
        async with self.store.connection() as conn:
            return state_of(await incident_rows.timeline(conn, incident_id, STATE_KINDS))

    async def post(self, incident_id: int, draft: StatusDraft, actor: str) -> Posted:
        """Create, update or resolve the status-page incident (one poster per incident at a time)."""
        lock = await self.coord.acquire(f"statuspage:{incident_id}", actor, LOCK_TTL_S)
        if lock is None:
            return Posted(False, f"Someone is posting a status-page update for #{incident_id} right now; "
                                 "look at the thread, then try again if still needed")
        try:
            state = await self.state(incident_id)
            ref, created, manual = state.ref, False, not self.page.configured
            if not manual:
                try:
                    ref, created = await self._send(state, draft)
                except StatusPageOutcomeUnknown as exc:
                    # Not "did not take it": it may well have, and posting again blindly would duplicate it.
                    return Posted(False, f"The status page may or may not have taken the update: {exc}")
                except StatusPageError as exc:
                    return Posted(False, f"The status page did not take the update: {exc}")
            text = _describe(draft, ref, self.page, created, manual)
            data = _record_data(draft, ref, manual)
            try:
                await self.incidents.apply(incident_id, lambda inc, at: steps.status_page(
                    inc, at, actor, draft.status.value, text, data, draft.status in MITIGATING))
            except NoSuchIncident as exc:
                return Posted(False, f"{str(exc).capitalize()}")
            return Posted(True, text, ref)
        finally:
            await self.coord.release(lock)

    async def _send(self, state: StatusPageState, draft: StatusDraft) -> tuple[StatusRef, bool]:
        if state.ref is None:
            return await self.page.create(draft), True
        if draft.status is IncidentStatus.RESOLVED:
            return await self.page.resolve(state.ref, draft), False
        return await self.page.update(state.ref, draft), False

    async def resolve_in(self, tx: Tx, incident: Incident, draft: StatusDraft, record: Recorder) -> Posted:
        """The automatic final update (statuspage.auto_resolve), inside a timer's firing."""
        state = state_of(await incident_rows.timeline(tx, incident.id, STATE_KINDS))
        if not state.open_on_page or state.ref is None:
            return Posted(True, "nothing to resolve on the status page")
        ref = await self.page.resolve(state.ref, draft)
        text = _describe(draft.resolved(), ref, self.page, False, False) + " (automatically, on resolve)"
        data = _record_data(draft.resolved(), ref, False)
        await record(tx, incident.id, lambda inc, at: steps.status_page(
            inc, at, None, IncidentStatus.RESOLVED.value, text, data, True))
        return Posted(True, text, ref)
