"""The `escalation:` configuration section: the example file's matrix, and bad values refused by key."""

from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import load_config
from bot.config.escalation import Availability
from bot.errors import ConfigError
from bot.paths import runbooks_dir

BASE: dict[str, Any] = {
    "timezone": "Asia/Ho_Chi_Minh",
    "channels": {"incidents": "C0INCIDENTS", "alerts": "C0ALERTS00", "deploys": "C0DEPLOYS0"},
    "roles": {"deployer": ["U0DEPLOYER"], "approver": ["U0APPROVER"], "admin": ["U0ADMIN000"]},
}
MATRIX = [
    {"role": "Lead DevOps", "name": "John Doe", "slack_id": "U0JOHNDOE0", "availability": "24/7"},
    {"role": "Database Admin", "name": "Bob Wilson", "slack_id": "U0BOBWILSN", "availability": "on-call"},
]


def write(tmp_path: Path, escalation: Any) -> Path:
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump({**BASE, "escalation": escalation}), encoding="utf-8")
    return path


def test_the_example_config_carries_the_runbooks_matrix() -> None:
    config = load_config(runbooks_dir() / "atl-bot.example.yml")

    matrix = config.escalation.matrix
    assert [(c.role, c.name, c.availability) for c in matrix] == [
        ("Lead DevOps", "John Doe", Availability.ALWAYS),
        ("Backend Lead", "Jane Smith", Availability.BUSINESS_HOURS),
        ("Database Admin", "Bob Wilson", Availability.ON_CALL),
        ("Security Lead", "Alice Brown", Availability.BUSINESS_HOURS),
    ]
    assert config.escalation.business_hours.end == time(18, 0)
    assert (config.escalation.ack_timeout_minutes.P1, config.escalation.ack_timeout_minutes.P2) == (5, 15)


def test_a_config_without_the_section_gets_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    assert load_config(path).escalation.matrix == []


def test_unquoted_clock_times_read_as_written(tmp_path: Path) -> None:
    # YAML 1.1 reads 18:00 as the base-60 number 1080.
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump(BASE) + "escalation:\n  business_hours: {start: 8:30, end: 17:45}\n",
                    encoding="utf-8")
    hours = load_config(path).escalation.business_hours
    assert (hours.start, hours.end) == (time(8, 30), time(17, 45))


@pytest.mark.parametrize(("escalation", "says"), [
    ({"matrix": [{**MATRIX[0], "availability": "weekdays"}]},
     "escalation.matrix.0.availability: Input should be '24/7', 'business-hours' or 'on-call'"),
    ({"matrix": [{**MATRIX[0], "slack_id": "john"}]}, "escalation.matrix.0.slack_id: 'john' is not a Slack user ID"),
    ({"matrix": [{**MATRIX[0], "phone": "+84"}]}, "escalation.matrix.0.phone: unknown key"),
    ({"business_hours": {"start": "18:00", "end": "09:00"}}, "start (18:00) must be before end (09:00)"),
    ({"business_hours": {"days": ["monday"]}}, "escalation.business_hours.days.0: Input should be 'mon'"),
    ({"matrix": MATRIX, "on_call": {"rotation": {"members": ["U0JOHNDOE0"], "start": "2025-01-06"}}},
     "on_call names U0JOHNDOE0, who is not an `availability: on-call` entry"),
    ({"matrix": MATRIX, "on_call": {"overrides": [{"slack_id": "U0BOBWILSN", "start": "2025-01-10 18:00",
                                                   "end": "2025-01-11 18:00"}]}},
     "configure on_call.rotation too"),
    ({"matrix": MATRIX, "on_call": {"rotation": {"members": ["U0BOBWILSN"], "start": "2025-01-06"},
                                    "overrides": [{"slack_id": "U0BOBWILSN", "start": "2025-01-11 18:00",
                                                   "end": "2025-01-10 18:00"}]}},
     "override for U0BOBWILSN: start must be before end"),
    ({"ack_timeout_minutes": {"P1": 0}}, "escalation.ack_timeout_minutes.P1: Input should be greater than 0"),
])
def test_bad_escalation_values_name_the_key(tmp_path: Path, escalation: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, escalation))
    assert says in str(caught.value)
