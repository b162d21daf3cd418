"""The Slack outbox: ordered lanes at ≤ 1 call/s, coalescing, refs, Retry-After, failures, durability."""

import asyncio
import itertools
from typing import Any

from bot.slack.outbox import Coalesce, Outbox, Ref
from tests.alerts.support import settle
from tests.harness import BotUnderTest

CHANNEL = "C0ALERTS00"


def outbox_of(bot: BotUnderTest) -> Outbox:
    outbox: Outbox = bot.runtime.services["slack_outbox"]
    return outbox


def message(text: str, **extra: Any) -> dict[str, Any]:
    return {"channel": CHANNEL, "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}], **extra}


async def enqueue(bot: BotUnderTest, *calls: tuple[str, dict[str, Any], dict[str, Any]]) -> list[int]:
    """Queue calls in one transaction, as the domain does; returns the row ids."""
    outbox = outbox_of(bot)
    ids = []
    async with bot.runtime.store.transaction() as tx:
        for method, args, options in calls:
            ids.append(await outbox.enqueue(tx, method, args, **options))
    outbox.wake()
    return ids


async def rows(bot: BotUnderTest) -> list[dict[str, Any]]:
    return await bot.query("SELECT id, state, attempts, last_error, args FROM slack_outbox ORDER BY id")


async def test_lanes_keep_order_and_send_at_most_one_call_per_second(bot: BotUnderTest) -> None:
    await enqueue(bot, *[("chat.postMessage", message(f"{lane}-{i}"), {"ordering_key": lane})
                         for i in range(3) for lane in ("a", "b")])
    await settle(bot)
    sent = [(c.args["text"], c.at) for c in bot.fake_slack.calls if c.method == "chat.postMessage"]
    for lane in ("a", "b"):
        mine = [(t, at) for t, at in sent if t.startswith(lane)]
        assert [t for t, _ in mine] == [f"{lane}-0", f"{lane}-1", f"{lane}-2"]
        gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(mine)]
        assert all(gap >= 1.0 for gap in gaps), gaps
    # Lanes do not wait for each other: both firsts go before either second.
    order = [t for t, _ in sent]
    assert max(order.index("a-0"), order.index("b-0")) < min(order.index("a-1"), order.index("b-1"))


async def test_replace_sends_only_the_latest_pending_edit(bot: BotUnderTest) -> None:
    outbox = outbox_of(bot)
    await outbox.stop()  # hold the worker, as when Slack is slow and edits pile up
    [post] = await enqueue(bot, ("chat.postMessage", message("v0"), {"ordering_key": "t"}))
    await enqueue(bot, *[("chat.update", message(f"v{i}"), {
        "ordering_key": "t", "refs": {"ts": Ref(post, "ts")}, "coalesce_key": "t:header",
        "coalesce": Coalesce.REPLACE}) for i in range(1, 6)])
    await outbox.start()
    await settle(bot)
    assert [c["text"] for c in bot.fake_slack.calls_to("chat.update")] == ["v5"]
    assert [r["state"] for r in await rows(bot)] == ["sent", "superseded", "superseded", "superseded",
                                                     "superseded", "sent"]


async def test_append_merges_pending_replies_up_to_slacks_block_limit(bot: BotUnderTest) -> None:
    outbox = outbox_of(bot)
    await outbox.stop()
    [post] = await enqueue(bot, ("chat.postMessage", message("header"), {"ordering_key": "t"}))
    await enqueue(bot, *[("chat.postMessage", message(f"reply {i}"), {
        "ordering_key": "t", "refs": {"thread_ts": Ref(post, "ts")}, "coalesce_key": "t:reply",
        "coalesce": Coalesce.APPEND}) for i in range(55)])
    await outbox.start()
    await settle(bot, timeout=30)
    header, *replies = bot.fake_slack.calls_to("chat.postMessage")
    assert header["text"] == "header" and [len(r["blocks"]) for r in replies] == [50, 5]
    [sent] = await bot.query("SELECT result FROM slack_outbox WHERE id = %s", post)
    assert {r["thread_ts"] for r in replies} == {sent["result"]["ts"]}
    assert replies[0]["text"].splitlines()[:2] == ["reply 0", "reply 1"]
    thread = bot.fake_slack.thread(CHANNEL, replies[0]["thread_ts"])
    assert thread[0]["text"] == "header" and len(thread) == 3


async def test_refs_thread_a_reply_under_a_post_queued_in_the_same_transaction(bot: BotUnderTest) -> None:
    [post, _] = await enqueue(bot, ("chat.postMessage", message("parent"), {"ordering_key": "t", "tag": "x"}),
                              ("chat.postMessage", message("child"), {"ordering_key": "t"}))
    await enqueue(bot, ("chat.postMessage", message("reply"),
                        {"ordering_key": "t", "refs": {"thread_ts": Ref(post, "ts")}}))
    await settle(bot)
    parent, child, reply = bot.fake_slack.calls_to("chat.postMessage")
    [stored] = [r for r in await rows(bot) if r["id"] == post]
    assert "thread_ts" not in child and reply["thread_ts"] is not None
    assert bot.fake_slack.thread(CHANNEL, reply["thread_ts"])[0]["text"] == "parent"
    assert stored["state"] == "sent"
    assert parent["text"] == "parent"


async def test_rate_limits_are_honoured_with_retry_after(bot: BotUnderTest) -> None:
    bot.fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=5)
    await enqueue(bot, ("chat.postMessage", message("patience"), {"ordering_key": "t"}))
    await settle(bot, timeout=30)
    [delivered] = [c for c in bot.fake_slack.calls if c.method == "chat.postMessage"]
    attempts = [c.at for c in bot.fake_slack.throttled] + [delivered.at]
    assert len(attempts) == 6
    # Every retry waited at least the Retry-After Slack asked for (client retries, then the outbox's).
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(attempts)), attempts
    [row] = await rows(bot)
    assert row["state"] == "sent" and row["attempts"] == 2  # the client gave up once; the outbox tried again


async def test_server_errors_are_retried(bot: BotUnderTest) -> None:
    bot.fake_slack.fail("chat.postMessage", status=503, times=1)
    await enqueue(bot, ("chat.postMessage", message("again"), {}))
    await settle(bot)
    assert [c["text"] for c in bot.fake_slack.calls_to("chat.postMessage")] == ["again"]
    assert len(bot.fake_slack.throttled) == 1


async def test_refused_calls_fail_without_blocking_their_lane(bot: BotUnderTest) -> None:
    bot.fake_slack.missing_channels.add("C0GONE0000")
    [lost, reply, other] = await enqueue(
        bot, ("chat.postMessage", {**message("lost"), "channel": "C0GONE0000"}, {"ordering_key": "t"}),
        ("chat.postMessage", message("orphan"), {"ordering_key": "t", "refs": {"thread_ts": Ref(0, "ts")}}),
        ("chat.postMessage", message("still sent"), {"ordering_key": "t"}))
    await settle(bot)
    states = {r["id"]: (r["state"], r["last_error"]) for r in await rows(bot)}
    assert [s for s, _ in states.values()] == ["failed", "failed", "sent"]
    assert "channel_not_found" in (states[lost][1] or "")
    assert states[reply][1] == "referenced outbox row 0 was not sent"
    assert states[other][0] == "sent"
    assert [c["text"] for c in bot.fake_slack.calls_to("chat.postMessage")] == ["still sent"]


async def test_calls_survive_a_slack_outage(bot: BotUnderTest) -> None:
    await bot.fake_slack.stop()
    try:
        await enqueue(bot, ("chat.postMessage", message("queued during the outage"), {"ordering_key": "t"}))
        for _ in range(150):
            [row] = await rows(bot)
            if row["last_error"]:
                break
            await asyncio.sleep(0.1)
        assert row["state"] == "pending" and "ClientConnectorError" in row["last_error"]
    finally:
        await bot.fake_slack.start()
    await settle(bot, timeout=30)
    assert [c["text"] for c in bot.fake_slack.calls_to("chat.postMessage")] == ["queued during the outage"]


async def test_queued_calls_are_sent_after_a_restart(make_bot) -> None:  # type: ignore[no-untyped-def]
    async with make_bot() as first:
        await outbox_of(first).stop()  # the process dies before its worker got to the rows
        await enqueue(first, ("chat.postMessage", message("from before the restart"), {"ordering_key": "t"}))
    assert first.fake_slack.calls_to("chat.postMessage") == []
    async with make_bot() as second:
        await settle(second)
        assert [c["text"] for c in second.fake_slack.calls_to("chat.postMessage")] == ["from before the restart"]
