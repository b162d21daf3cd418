"""Run changes → Slack, through the outbox: one message per run in channels.deploys, edited in place, and
its thread (a reply per finished step and per decision; long output uploaded as a file).

Two lanes per run, so a busy thread never delays the checklist: `run:ID:message` (the post, then edits;
an edit still waiting is superseded by a newer one) and `run:ID:thread` (replies; replies still waiting
are merged into one). Thread replies take the message's ts from the queued post once Slack accepted it.
"""

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AppConfig
from bot.engine.events import Tx
from bot.engine.model import EventKind, RunChange, RunStep, StepStatus
from bot.slack import run_blocks as render
from bot.slack.outbox import Coalesce, Outbox, Ref, Sent
from bot.store import runs
from bot.store.db import Store

log = logging.getLogger(__name__)

MESSAGE_TAG = "run_message:"
QUIET = {EventKind.STARTED}  # the message itself says the run started


class RunMessages:
    """The RunObserver that keeps Slack in step with runs."""

    def __init__(self, config: AppConfig, outbox: Outbox, store: Store, client: AsyncWebClient) -> None:
        self.config = config
        self.outbox = outbox
        self.store = store
        self.client = client
        self.limit = config.engine.inline_output_chars
        outbox.on_sent(MESSAGE_TAG, self._message_sent)

    def committed(self) -> None:
        self.outbox.wake()

    async def changed(self, tx: Tx, change: RunChange) -> None:
        view = change.view
        run = view.run
        text = render.fallback_text(view)
        blocks = render.to_dicts(render.run_blocks(view, self.config.zone, list(self.config.engine.confirm_roles)))
        if run.message_outbox_id is None:
            channel = self.config.channels.deploys
            row = await self.outbox.enqueue(
                tx, "chat.postMessage",
                {"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False},
                ordering_key=f"run:{run.id}:message", tag=f"{MESSAGE_TAG}{run.id}")
            await runs.set_message_row(tx, run.id, channel, row)
            where: dict[str, Any] = {"channel": channel}
            refs = {"ts": Ref(row, "ts")}
        else:
            assert run.channel is not None
            where = {"channel": run.channel}
            refs = {}
            if run.message_ts:
                where["ts"] = run.message_ts
            else:
                refs["ts"] = Ref(run.message_outbox_id, "ts")
            await self.outbox.enqueue(
                tx, "chat.update", {**where, "text": text, "blocks": blocks},
                ordering_key=f"run:{run.id}:message", refs=refs,
                coalesce_key=f"run:{run.id}:message", coalesce=Coalesce.REPLACE)
        await self._thread(tx, change, where, refs)

    # -- the thread -----------------------------------------------------------------------------------

    def _long(self, step: RunStep) -> bool:
        return len((step.output or "").strip()) > self.limit

    async def _thread(self, tx: Tx, change: RunChange, where: dict[str, Any], refs: dict[str, Ref]) -> None:
        view = change.view
        run = view.run
        in_this_change = {e.step.position for e in change.events if e.step is not None
                          and e.kind is EventKind.STEP_FINISHED}
        # Replies merge while they wait, but never across an uploaded file: each file starts a new group.
        epoch = sum(1 for s in view.steps if s.position not in in_this_change
                    and s.status in (StepStatus.DONE, StepStatus.FAILED) and self._long(s))
        thread: dict[str, Any] = {"channel": where["channel"]}
        if "ts" in where:
            thread["thread_ts"] = where["ts"]
        thread_refs = {"thread_ts": refs["ts"]} if "ts" in refs else {}
        for event in change.events:
            if event.kind in QUIET:
                continue
            file_output = None
            if event.kind is EventKind.STEP_FINISHED and event.step is not None:
                text, blocks, as_file = render.step_reply(event.step, self.config.zone, self.limit)
                file_output = (event.step.output or "").strip() if as_file else None
            else:
                text, blocks = render.event_reply(event, run, self.config.zone)
            await self.outbox.enqueue(
                tx, "chat.postMessage", {**thread, "text": text, "blocks": render.to_dicts(blocks)},
                ordering_key=f"run:{run.id}:thread", refs=thread_refs,
                coalesce_key=f"run:{run.id}:thread:{epoch}", coalesce=Coalesce.APPEND)
            if file_output is not None and event.step is not None:
                await self._file(tx, run.id, event.step, file_output, thread, thread_refs)
                epoch += 1

    async def _file(self, tx: Tx, run_id: int, step: RunStep, output: str, thread: dict[str, Any],
                    thread_refs: dict[str, Ref]) -> None:
        """Upload now (files.getUploadURLExternal + the upload); share it in the thread through the outbox."""
        name = f"run-{run_id}-step-{step.number}-{step.step_id}.log"
        file_id = await self._upload(name, output.encode("utf-8"))
        if file_id is None:
            tail = output[-self.limit:]
            await self.outbox.enqueue(
                tx, "chat.postMessage",
                {**thread, "text": f"{step.number}. {step.name}: last {len(tail)} characters of its output",
                 "blocks": render.to_dicts(render.notice_blocks(f"```{tail}```"))},
                ordering_key=f"run:{run_id}:thread", refs=thread_refs)
            return
        args: dict[str, Any] = {"files": [{"id": file_id, "title": f"Step {step.number}: {step.name}"}],
                                "channel_id": thread["channel"]}
        if "thread_ts" in thread:
            args["thread_ts"] = thread["thread_ts"]
        await self.outbox.enqueue(tx, "files.completeUploadExternal", args, ordering_key=f"run:{run_id}:thread",
                                  refs=dict(thread_refs))

    async def _upload(self, filename: str, content: bytes) -> str | None:
        try:
            answer = await self.client.files_getUploadURLExternal(filename=filename, length=len(content))
            url, file_id = str(answer["upload_url"]), str(answer["file_id"])
            async with aiohttp.ClientSession() as session, session.post(
                url, data=content, timeout=aiohttp.ClientTimeout(total=30)
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"upload answered {resp.status}")
            return file_id
        except (SlackApiError, aiohttp.ClientError, TimeoutError, RuntimeError, KeyError) as exc:
            log.warning("step output upload failed; posting its tail instead", extra={"error": repr(exc)})
            return None

    async def _message_sent(self, sent: Sent) -> None:
        run_id = int((sent.tag or "").removeprefix(MESSAGE_TAG))
        channel, ts = sent.result.get("channel"), sent.result.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            async with self.store.connection() as conn:
                await runs.set_message_ts(conn, run_id, sent.id, channel, ts)
