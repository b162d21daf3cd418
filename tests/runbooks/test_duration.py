"""Durations as people write them in YAML, and as plans show them."""

import pytest

from bot.runbooks.duration import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("24h", 86400), ("1h30m", 5400), ("2d", 172800), ("500ms", 0.5), (90, 90),
     ("45", 45), (" 5 m ", 300)],
)
def test_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "10 minutes", "h", "-5", "1x", "", True, None, "10m5"])
def test_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration like 30s"):
        parse_duration(text)


def test_format() -> None:
    assert [format_duration(s) for s in (0.5, 30, 90, 600, 5400, 86400)] == ["0.5s", "30s", "1m30s", "10m", "1h30m",
                                                                             "24h"]
