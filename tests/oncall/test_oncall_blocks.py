"""/oncall's Block Kit: reachable people in escalation order with why, the others with when they are back."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.escalation import EscalationConfig
from bot.oncall.roster import reachable_at
from bot.slack.oncall_blocks import NO_MATRIX, NOBODY, oncall_blocks, oncall_text
from tests.harness.blockkit import MESSAGE_BLOCKS, block_problems

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def contact(name: str, slack_id: str, availability: str, role: str = "Engineer") -> dict[str, str]:
    return {"role": role, "name": name, "slack_id": slack_id, "availability": availability}


def rendered(matrix: list[dict[str, str]], at: datetime) -> tuple[list[dict[str, Any]], str]:
    status = reachable_at(EscalationConfig.model_validate({"matrix": matrix}), ZONE, at)
    blocks = [block.to_dict() for block in oncall_blocks(status)]
    assert block_problems(blocks, MESSAGE_BLOCKS) == []
    return blocks, oncall_text(status)


def texts(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [element["text"] for element in block.get("elements", [])]
    return "\n".join(parts)


def test_saturday_night_shows_who_answers_and_when_the_others_are_back() -> None:
    matrix = [contact("John Doe", "U0JOHNDOE0", "24/7", "Lead DevOps"),
              contact("Jane Smith", "U0JANESMTH", "business-hours", "Backend Lead")]

    blocks, text = rendered(matrix, datetime(2025, 1, 18, 22, 0, tzinfo=ZONE))

    shown = texts(blocks)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "On call · Sat 22:00 UTC+07",
                                                    "emoji": True}}
    assert "1. *John Doe* <@U0JOHNDOE0> — Lead DevOps · _24/7_" in shown
    assert "• Jane Smith — Backend Lead · outside business hours (Sat 22:00 UTC+07) · back Mon 09:00" in shown
    assert "P1 after 5 min, P2 after 15 min · times in Asia/Ho_Chi_Minh" in shown
    assert text == ("Reachable now (Sat 22:00 UTC+07): John Doe (24/7). "
                    "Not reachable: Jane Smith (outside business hours (Sat 22:00 UTC+07)).")


def test_nobody_reachable_is_said_loudly() -> None:
    blocks, text = rendered([contact("Jane Smith", "U0JANESMTH", "business-hours")],
                            datetime(2025, 1, 19, 3, 0, tzinfo=ZONE))
    assert NOBODY in texts(blocks)
    assert text.startswith("Reachable now (Sun 03:00 UTC+07): nobody.")


def test_no_matrix_says_how_to_configure_one() -> None:
    blocks, text = rendered([], datetime(2025, 1, 13, 10, 0, tzinfo=ZONE))
    assert NO_MATRIX in texts(blocks) and text == NO_MATRIX


def test_names_cannot_inject_markup_and_a_large_matrix_stays_within_slack_limits() -> None:
    matrix = [contact(f"Ops <!channel> & Co {i}", f"U0PERSON{i:03d}", "24/7" if i % 2 else "business-hours",
                      role="SRE " + "x" * 60) for i in range(120)]

    blocks, _ = rendered(matrix, datetime(2025, 1, 18, 22, 0, tzinfo=ZONE))

    shown = texts(blocks)
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; Co 1" in shown
    assert len(blocks) <= MESSAGE_BLOCKS
