"""Status-page prompts with a draft, the form to edit it, and Atlassian Statuspage v1 (a fake server on a free
port with `Authorization: OAuth KEY`): create, then update the same incident, then resolve it."""

from tests.harness.bot import BotUnderTest, MakeBot
from tests.incidents.conftest import config, statuspage_env
from tests.incidents.support import (
    ONCALL,
    advance,
    audited,
    command,
    hand_driven,
    header,
    incident,
    replies,
    settle,
    text_of,
    thread,
    with_button,
)
from tests.statuspage.fake_statuspage import API_KEY, COMPONENTS, PAGE_ID, FakeStatuspage


def pick(value: str) -> dict:  # type: ignore[type-arg]
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def form(status: str, message: str, title: str = "Checkout failing", **components: str) -> dict:  # type: ignore[type-arg]
    values = {"status": pick(status), "title": {"value": title}, "message": {"value": message}}
    for name in COMPONENTS:
        values[f"component:{name}"] = pick(components.get(name, "not_affected"))
    return values


async def open_form(bot: BotUnderTest, count: int) -> dict:  # type: ignore[type-arg]
    """Click the latest status-page button in the thread; the modal Slack was asked to open."""
    message = with_button(await thread(bot), "incident_statuspage_open")
    await bot.slack.block_action("incident_statuspage_open", user_id=ONCALL, message=message)
    await audited(bot, "incident_statuspage_open", count)
    view: dict = bot.fake_slack.calls_to("views.open")[-1]["view"]  # type: ignore[type-arg]
    return view


async def submit(bot: BotUnderTest, view: dict, values: dict, count: int) -> None:  # type: ignore[type-arg]
    result = await bot.slack.view_submission("incident_statuspage", values, user_id=ONCALL,
                                             private_metadata=view["private_metadata"])
    assert result.status == 200 and not result.body, result.body
    await audited(bot, "incident_statuspage", count)


def initial(view: dict, block_id: str) -> str:  # type: ignore[type-arg]
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    return str(element.get("initial_option", {}).get("value") or element.get("initial_value"))


async def test_create_update_and_resolve_the_same_statuspage_incident(make_bot: MakeBot, statuspage: FakeStatuspage,
                                                                      clock) -> None:  # type: ignore[no-untyped-def]
    overrides = config(statuspage={"components": COMPONENTS})
    async with make_bot(config=overrides, env=statuspage_env(statuspage)) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P1 checkout failing")
        prompt = (await replies(bot))[2]
        assert "Edit and post…" in prompt and "checkout: Major outage" in prompt  # guessed from the title

        view = await open_form(bot, 1)
        assert view["callback_id"] == "incident_statuspage" and view["submit"]["text"] == "Post"
        assert (initial(view, "status"), initial(view, "component:checkout"), initial(view, "component:api")) == (
            "investigating", "major_outage", "not_affected")
        assert initial(view, "message") == "We are investigating an issue: checkout failing."

        await submit(bot, view, form("investigating", "Checkout is failing for some customers.",
                                     checkout="major_outage", api="degraded_performance"), 1)
        [create] = statuspage.requests
        assert (create.method, create.path, create.authorization) == (
            "POST", f"/v1/pages/{PAGE_ID}/incidents", f"OAuth {API_KEY}")
        assert create.body["incident"]["status"] == "investigating"
        assert create.body["incident"]["components"] == {COMPONENTS["checkout"]: "major_outage",
                                                         COMPONENTS["api"]: "degraded_performance"}
        [(page_id, page_incident)] = statuspage.incidents.items()
        [event] = await bot.query("SELECT actor, text, data FROM timeline_events WHERE kind = 'status_page'")
        assert event["actor"] == ONCALL and event["data"]["ref"] == {
            "provider": "atlassian", "id": page_id, "url": f"https://stspg.io/{page_id}"}
        assert "Status page investigating: created on Atlassian Statuspage" in event["text"]
        assert any("Status page investigating: created on Atlassian Statuspage" in r for r in await replies(bot))
        assert f"*Status page:* investigating (10:00) <https://stspg.io/{page_id}|link>" in text_of(await header(bot))

        await command(bot, "note rolled back the payment client")
        await advance(bot, clock, minutes=20)  # (the diagnosis prompt at 15 min fires in the same tick)
        draft = next(r for r in reversed(await replies(bot)) if "Status page update for" in r)
        assert "Status page update for P1 #1" in draft and "rolled back the payment client" in draft
        view = await open_form(bot, 2)
        assert (initial(view, "status"), initial(view, "component:api")) == ("investigating", "degraded_performance")
        await submit(bot, view, form("monitoring", "A fix is in place; we are watching.",
                                     checkout="degraded_performance"), 2)
        update = statuspage.requests[-1]
        assert (update.method, update.path) == ("PATCH", f"/v1/pages/{PAGE_ID}/incidents/{page_id}")
        assert page_incident["status"] == "monitoring" and len(statuspage.incidents) == 1
        assert (await incident(bot))["mitigated_at"] is not None  # monitoring: the fix is in

        await command(bot, "resolve payment client rolled back")
        final = (await replies(bot))[-1]
        assert "close the status-page incident too" in final and "Resolve on status page…" in final
        view = await open_form(bot, 3)
        assert (initial(view, "status"), initial(view, "component:checkout")) == ("resolved", "operational")
        await submit(bot, view, form("resolved", "All good.", checkout="operational", api="operational"), 3)
        assert statuspage.requests[-1].method == "PATCH" and page_incident["status"] == "resolved"
        assert statuspage.components[COMPONENTS["checkout"]] == "operational"
        statuses = await bot.query("SELECT data->>'status' AS s FROM timeline_events WHERE kind = 'status_page'"
                                   " ORDER BY id")
        assert [s["s"] for s in statuses] == ["investigating", "monitoring", "resolved"]
        assert bot.fake_slack.rejected == []


async def test_auto_resolve_closes_the_statuspage_incident_on_resolve(make_bot: MakeBot, statuspage: FakeStatuspage,
                                                                      clock) -> None:  # type: ignore[no-untyped-def]
    overrides = config(statuspage={"components": COMPONENTS, "auto_resolve": True})
    async with make_bot(config=overrides, env=statuspage_env(statuspage)) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P2 checkout failing")
        view = await open_form(bot, 1)
        await submit(bot, view, form("identified", "Found it.", checkout="partial_outage"), 1)
        await command(bot, "resolve fixed")
        await settle(bot)
        [page_incident] = statuspage.incidents.values()
        assert page_incident["status"] == "resolved"
        assert statuspage.components[COMPONENTS["checkout"]] == "operational"
        [last] = await bot.query("SELECT actor, text FROM timeline_events WHERE kind = 'status_page' ORDER BY id DESC"
                                 " LIMIT 1")
        assert last["actor"] is None and "(automatically, on resolve)" in last["text"]
        assert not any("close the status-page incident too" in r for r in await replies(bot))


async def test_a_refused_update_is_reported_and_not_recorded(make_bot: MakeBot, statuspage: FakeStatuspage,
                                                             clock) -> None:  # type: ignore[no-untyped-def]
    async with make_bot(config=config(statuspage={"components": COMPONENTS}),
                        env={**statuspage_env(statuspage), "STATUSPAGE_API_KEY": "wrong-key"}) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P1 checkout failing")
        view = await open_form(bot, 1)
        bad = await bot.slack.view_submission("incident_statuspage", form("investigating", "  "), user_id=ONCALL,
                                              private_metadata=view["private_metadata"])
        assert bad.json == {"response_action": "errors", "errors": {"message": "The status page needs a message."}}
        await submit(bot, view, form("investigating", "Investigating."), 2)
        [told] = bot.fake_slack.calls_to("chat.postEphemeral")
        assert told["user"] == ONCALL and "Atlassian Statuspage refused our credentials" in told["text"]
        assert "STATUSPAGE_API_KEY" in told["text"] and "wrong-key" not in told["text"]
        assert await bot.query("SELECT id FROM timeline_events WHERE kind = 'status_page'") == []
        rows = await bot.query("SELECT outcome FROM audit_log WHERE action = 'incident_statuspage' ORDER BY id")
        assert [r["outcome"] for r in rows] == ["refused", "refused"]


async def test_a_create_of_unknown_outcome_says_to_check_the_page(make_bot: MakeBot, statuspage: FakeStatuspage,
                                                                   clock) -> None:  # type: ignore[no-untyped-def]
    async with make_bot(config=config(statuspage={"components": COMPONENTS}), env=statuspage_env(statuspage)) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P1 checkout failing")
        view = await open_form(bot, 1)
        # The create lands but its answer is a 500, and the page's list of incidents cannot be read either.
        statuspage.fail(500, method="POST", after_applying=True)
        statuspage.fail(503, times=2, method="GET")
        await submit(bot, view, form("investigating", "Investigating."), 1)
        [told] = bot.fake_slack.calls_to("chat.postEphemeral")
        assert ":warning: The status page may or may not have taken the update:" in told["text"]
        assert "Check the page for it before posting again" in told["text"]
        assert len(statuspage.incidents) == 1  # it did land, once: nothing posted it again
        assert await bot.query("SELECT id FROM timeline_events WHERE kind = 'status_page'") == []


async def test_without_a_status_page_the_update_is_recorded_as_posted_by_hand(incident_bot: BotUnderTest) -> None:
    bot = incident_bot
    await command(bot, "declare P1 checkout failing")
    prompt = (await replies(bot))[2]
    assert "copy this draft to the status page" in prompt and "Record it…" in prompt
    view = await open_form(bot, 1)
    assert view["submit"]["text"] == "Record"
    await submit(bot, view, {"status": pick("investigating"), "title": {"value": "Checkout failing"},
                             "message": {"value": "We are on it."}}, 1)
    [event] = await bot.query("SELECT data FROM timeline_events WHERE kind = 'status_page'")
    assert event["data"]["manual"] is True and event["data"]["ref"] is None
    assert "*Status page:* investigating (10:00, by hand)" in text_of(await header(bot))


async def test_a_generic_webhook_gets_create_then_update(make_bot: MakeBot, statuspage: FakeStatuspage,
                                                         clock) -> None:  # type: ignore[no-untyped-def]
    overrides = config(statuspage={"components": COMPONENTS, "webhook_url": statuspage.webhook_url})
    async with make_bot(config=overrides) as bot:
        await hand_driven(bot, clock)
        await command(bot, "declare P2 checkout failing")
        await submit(bot, await open_form(bot, 1), form("investigating", "Looking.", checkout="partial_outage"), 1)
        await submit(bot, await open_form(bot, 2), form("identified", "Found it.", checkout="partial_outage"), 2)
        create, update = statuspage.webhook_bodies
        assert (create["action"], create["ref"]) == ("create", None)
        assert create["draft"]["components"] == [{"name": "checkout", "status": "partial_outage"}]
        assert update["action"] == "update" and update["ref"]["id"] == "hook-1"
        refs = await bot.query("SELECT data->'ref' AS ref FROM timeline_events WHERE kind = 'status_page' ORDER BY id")
        assert [r["ref"]["provider"] for r in refs] == ["webhook", "webhook"]
