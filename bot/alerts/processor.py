"""Turns stored Alertmanager notifications into incident changes, one group at a time.

The webhook only stores; this runs in the background (woken by the webhook, polling as a fallback, so
deliveries stored by another process or before a crash are picked up too). Per group, under a
transaction-scoped advisory lock, it replays the pending notifications in arrival order against what
the incident already reflects, records alerts, incident and timeline, lets the observer queue its Slack
messages in the same transaction, and marks the notifications processed.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.alerts.payload import AlertStatus, Notification
from bot.alerts.routing import RoutingRules
from bot.alerts.transitions import Change, Transition, advance
from bot.config.alerts import AlertsConfig
from bot.incidents import lifecycle
from bot.incidents.events import IncidentChange, IncidentObserver, Tx
from bot.incidents.model import AlertGroup, Incident, IncidentSource, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity
from bot.store import alerts as alert_rows
from bot.store import incidents as incident_rows
from bot.store.alerts import AlertRow, GroupRef
from bot.store.db import Store
from bot.worker import BackgroundLoop

log = logging.getLogger(__name__)

ACTOR = "alertmanager"
GIVE_UP_AFTER = 5  # failed attempts before a notification is set aside (its error is kept)
STORM = 500  # notifications in one pass that make the next pass wait longer
GROUPS_PER_PASS = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


def title_for(note: Notification) -> str:
    """The summary annotation (common to the group, or shared by its firing alerts), else the alertname."""
    firing = [a for a in note.alerts if a.status is AlertStatus.FIRING] or list(note.alerts)
    summaries = {(a.annotations.get("summary") or "").strip() for a in firing}
    common = (note.common_annotations.get("summary") or "").strip()
    if common:
        return common
    if len(summaries) == 1 and "" not in summaries:
        return summaries.pop()
    for labels in (note.group_labels, note.common_labels, firing[0].labels):
        if labels.get("alertname"):
            return labels["alertname"]
    return f"Alert group {note.group_key}"


def group_of(note: Notification) -> AlertGroup:
    return AlertGroup(receiver=note.receiver, group_key=note.group_key, external_url=note.external_url,
                      group_labels=note.group_labels, common_labels=note.common_labels,
                      common_annotations=note.common_annotations, truncated_alerts=note.truncated_alerts)


def _describe(t: Transition) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(t.labels.items()) if k != "alertname")
    verb = "started firing" if t.change is Change.FIRED else "resolved"
    return f"{t.name} {verb}" + (f" ({shown})" if shown else "")


class _Batch:
    """The changes one processing transaction makes, per incident, in order."""

    def __init__(self) -> None:
        self.changes: dict[int, IncidentChange] = {}

    def record(self, before: Incident | None, after: Incident, events: list[TimelineEvent]) -> None:
        """Note a change in memory; `store` writes each incident and its new events once per batch."""
        change = self.changes.get(after.id)
        if change is None:
            change = self.changes[after.id] = IncidentChange(
                incident=after, previous_severity=before.severity if before is not None else None)
        change.incident = after
        change.events += events

    async def store(self, tx: Tx) -> None:
        for change in self.changes.values():
            change.incident = await incident_rows.update(tx, change.incident)
            change.events = await incident_rows.add_events(tx, sorted(change.events, key=lambda e: e.at))


class AlertProcessor:
    def __init__(self, store: Store, config: AlertsConfig, observer: IncidentObserver, *,
                 workers: int = 2, poll_interval: float = 1.0, min_pass_interval: float = 1.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.config = config
        self.routing: RoutingRules = config.routing
        self.observer = observer
        self.workers = workers
        self.poll_interval = poll_interval
        self.min_pass_interval = min_pass_interval
        self.clock = clock
        self._pass_started = 0.0
        self._worker = BackgroundLoop(self._pass, name="alert-processor", grace=10, after_failure=self._idle_wait,
                                      failure_message="alert processing pass failed", log=log)

    def wake(self) -> None:
        self._worker.wake()

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def drain(self) -> None:
        """Process until nothing is pending (tests and benchmarks; bound it with asyncio.timeout)."""
        while await alert_rows.pending_count(self.store):
            if not await self.run_once():
                await asyncio.sleep(0.05)

    async def _pass(self) -> float:
        self._pass_started = time.monotonic()
        done = await self.run_once()
        if done and not self._worker.stopping:
            # Busy: let deliveries pile up between passes, so one transaction per group covers many
            # of them and the webhook keeps the CPU and the database in between. Slack shows at most
            # one change per thread per second anyway. A plain sleep: a wake must not cut it short.
            pause = self.min_pass_interval * min(5, 1 + done // STORM)
            await asyncio.sleep(max(0.0, pause - (time.monotonic() - self._pass_started)))
            return 0
        return self._idle_wait()

    def _idle_wait(self) -> float:
        """Poll once per poll_interval, counted from the start of the last pass (failed ones too)."""
        return max(0.05, self.poll_interval - (time.monotonic() - self._pass_started))

    async def run_once(self) -> int:
        """Process every group with pending notifications once; returns how many notifications were done."""
        groups = await alert_rows.pending_groups(self.store, limit=GROUPS_PER_PASS)
        if not groups:
            return 0
        gate = asyncio.Semaphore(self.workers)

        async def one(group: GroupRef) -> int:
            async with gate:
                return await self.process_group(group)

        return sum(await asyncio.gather(*(one(g) for g in groups)))

    async def process_group(self, group: GroupRef) -> int:
        ids: list[int] = []
        try:
            async with self.store.transaction() as tx:
                pending = await alert_rows.take_pending(tx, group)
                ids = [p.id for p in pending]
                if not pending:
                    return 0  # nothing left, or another worker or process has the group
                batch = await self._apply_all(tx, group, [(p.id, Notification.model_validate(p.payload))
                                                          for p in pending])
                for change in batch.changes.values():
                    await self.observer.changed(tx, change)
        except Exception as exc:
            if not ids:
                raise
            log.exception("alert group processing failed", extra={"receiver": group.receiver,
                                                                   "group_key": group.group_key})
            await alert_rows.mark_failed(self.store, ids, f"{type(exc).__name__}: {exc}", GIVE_UP_AFTER)
            return 0
        self.observer.committed()
        return len(ids)

    async def _apply_all(self, tx: Tx, group: GroupRef, notes: list[tuple[int, Notification]]) -> _Batch:
        rows = {r.fingerprint: r for r in await alert_rows.group_alerts(tx, group)}
        incident = await incident_rows.latest_for_group(tx, group.receiver, group.group_key)
        batch = _Batch()
        dirty: set[str] = set()
        for note_id, note in notes:
            incident = await self._apply(tx, batch, incident, note_id, note, rows, dirty)
        await alert_rows.save_alerts(tx, group, [rows[fp] for fp in dirty])
        await batch.store(tx)
        return batch

    async def _apply(self, tx: Tx, batch: _Batch, incident: Incident | None, note_id: int, note: Notification,
                     rows: dict[str, AlertRow], dirty: set[str]) -> Incident | None:
        now = self.clock()
        transitions, touched = advance(rows, note, now)
        for fp in touched:
            rows[fp].severity = self.routing.severity_for(rows[fp].labels).value
            rows[fp].last_notification_id = note_id
        dirty |= touched
        firing = [r for r in rows.values() if r.status == AlertStatus.FIRING]
        # "P1" < "P2" < …: the most severe firing alert, without building enums in a storm's inner loop.
        top = min((r.severity for r in firing if r.severity), default=None)
        candidate = Severity(top) if top else None
        fired = [t for t in transitions if t.change is Change.FIRED]
        before = incident
        events: list[TimelineEvent] = []

        if fired:
            first = min(t.at for t in fired)
            if incident is None or (not incident.is_open
                                    and not lifecycle.can_reopen(incident, first, self.config.reopen_window)):
                before = None
                incident = await incident_rows.insert(tx, incident_rows.NewIncident(
                    severity=candidate or self.routing.default, title=title_for(note),
                    source=IncidentSource.ALERTMANAGER.value, opened_at=first, alert_group=group_of(note)))
                names = ", ".join(sorted({t.name for t in fired}))
                events.append(lifecycle.event(incident, TimelineKind.OPENED, first,
                                              f"Opened by Alertmanager: {names} firing", ACTOR,
                                              receiver=note.receiver, group_key=note.group_key))
            elif not incident.is_open:
                incident, evs = lifecycle.reopen(incident, first, f"{fired[0].name} fired again", ACTOR)
                events += evs
            for r in firing:
                if r.incident_id != incident.id:
                    r.incident_id = incident.id
                    dirty.add(r.fingerprint)
        if incident is None:
            return None  # only stale or resolved-only news for a group we never opened: nothing to tell

        for t in transitions:
            kind = TimelineKind.ALERT_FIRED if t.change is Change.FIRED else TimelineKind.ALERT_RESOLVED
            events.append(lifecycle.event(incident, kind, t.at, _describe(t), ACTOR, fingerprint=t.fingerprint,
                                          alertname=t.name, labels=t.labels))
            if rows[t.fingerprint].incident_id is None:
                rows[t.fingerprint].incident_id = incident.id
                dirty.add(t.fingerprint)

        if incident.is_open:
            incident, evs = lifecycle.raise_automatically(
                incident, candidate, now, "a firing alert is routed to " + (candidate.value if candidate else "?"))
            events += evs
            still_firing = bool(firing)
            # Alertmanager left some alerts out: only the group's own status can say they resolved.
            unseen_may_fire = note.truncated_alerts > 0 and note.status is AlertStatus.FIRING
            if not still_firing and not unseen_may_fire:
                ended = [t.at for t in transitions if t.change is Change.RESOLVED]
                incident, evs = lifecycle.resolve(incident, max(ended) if ended else now, ACTOR,
                                                  "every alert of the group resolved")
                events += evs

        group = group_of(note)
        if incident.alert_group != group:
            incident = incident.changed(alert_group=group)
        if events:
            batch.record(before, incident, events)
        return incident
