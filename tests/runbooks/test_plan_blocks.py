"""The plan as Block Kit: the same data as the CLI, within Slack's limits, nothing read as a link."""

from bot.runbooks.loader import Catalogue
from bot.runbooks.plan import build_plan
from bot.slack.plan_blocks import plan_blocks
from tests.harness.blockkit import block_problems


def test_the_blue_green_plan_fits_one_message_and_escapes_placeholders(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "deploy-blue-green", {"version": "v1.0.0"}, "production")
    blocks = [block.to_dict() for block in plan_blocks(plan)]
    assert block_problems(blocks, 50) == []
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Plan: Blue-green deployment in "
                                                                                   "production", "emoji": True}}
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(texts) == 19
    switch = texts[12]
    assert switch.startswith(":warning: *13. Switch traffic to the new colour*  `nginx.switch`")
    assert "&lt;from step live: colour&gt;" in switch
    assert "<from" not in "".join(texts)


def test_a_plan_with_more_steps_than_blocks_is_packed_not_cut(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "deploy-blue-green", {"version": "v1.0.0"}, "production")
    many = plan.model_copy(update={"steps": plan.steps * 4})
    blocks = [block.to_dict() for block in plan_blocks(many)]
    assert block_problems(blocks, 50) == []
    text = "".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert text.count("*13. Switch traffic to the new colour*") == 4
