"""The Block Kit limits Slack enforces, checked the way Slack reports them (JSON pointers)."""

from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELD_TEXT = 2000
ACTION_ID = 255
BLOCK_ID = 255
BUTTON_VALUE = 2000
BUTTON_TEXT = 75
HEADER_TEXT = 150
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
MESSAGE_TEXT = 40000


def _walk(node: Any, pointer: str, problems: list[str]) -> None:
    """action_id and block_id limits hold at any depth (actions, accessories, inputs, elements)."""
    if isinstance(node, dict):
        if isinstance(node.get("action_id"), str) and len(node["action_id"]) > ACTION_ID:
            problems.append(f"must be less than {ACTION_ID + 1} characters [json-pointer:{pointer}/action_id]")
        if node.get("type") == "button":
            value = node.get("value")
            if isinstance(value, str) and len(value) > BUTTON_VALUE:
                problems.append(f"must be less than {BUTTON_VALUE + 1} characters [json-pointer:{pointer}/value]")
            text = (node.get("text") or {}).get("text", "")
            if len(text) > BUTTON_TEXT:
                problems.append(f"must be less than {BUTTON_TEXT + 1} characters [json-pointer:{pointer}/text]")
        for key, value in node.items():
            _walk(value, f"{pointer}/{key}", problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{pointer}/{i}", problems)


def block_problems(blocks: Any, limit: int) -> list[str]:
    """Every violation as Slack words it; empty when Slack would accept the blocks."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        pointer = f"/blocks/{i}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"missing required field: type [json-pointer:{pointer}]")
            continue
        if isinstance(block.get("block_id"), str) and len(block["block_id"]) > BLOCK_ID:
            problems.append(f"must be less than {BLOCK_ID + 1} characters [json-pointer:{pointer}/block_id]")
        kind = block["type"]
        if kind == "section":
            text = (block.get("text") or {}).get("text")
            if text is not None and len(text) > SECTION_TEXT:
                problems.append(f"must be less than {SECTION_TEXT + 1} characters [json-pointer:{pointer}/text]")
            if text is None and not block.get("fields"):
                problems.append(f"must provide text or fields [json-pointer:{pointer}]")
            for j, fld in enumerate(block.get("fields") or []):
                if len(fld.get("text", "")) > SECTION_FIELD_TEXT:
                    problems.append(
                        f"must be less than {SECTION_FIELD_TEXT + 1} characters [json-pointer:{pointer}/fields/{j}]"
                    )
        elif kind == "header":
            text = (block.get("text") or {}).get("text", "")
            if len(text) > HEADER_TEXT:
                problems.append(f"must be less than {HEADER_TEXT + 1} characters [json-pointer:{pointer}/text]")
        _walk(block, pointer, problems)
    return problems
