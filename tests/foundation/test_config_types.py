"""Patterns in the configuration must compile, wherever they appear; the error names the key."""

from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.errors import ConfigError
from bot.paths import runbooks_dir


def example() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((runbooks_dir() / "atl-bot.example.yml").read_text(encoding="utf-8"))


def test_bad_tag_pattern_is_refused_naming_the_key(tmp_path: Path) -> None:
    doc = example()
    doc["environments"]["production"]["tag_pattern"] = "^v(\\d+"
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert "environments.production.tag_pattern" in str(caught.value)
    assert "is not a regular expression" in str(caught.value)


def test_bad_log_pattern_is_refused_naming_the_key(tmp_path: Path) -> None:
    doc = example()
    doc.setdefault("response", {}).setdefault("diagnostics", {})["log_patterns"] = [
        {"name": "errors", "file": "/var/log/app/error.log", "pattern": "ERROR|["}]
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert "response.diagnostics.log_patterns.0.pattern" in str(caught.value)
    assert "is not a regular expression" in str(caught.value)


def test_the_example_loads() -> None:
    assert load_config(runbooks_dir() / "atl-bot.example.yml").environments["production"].tag_pattern
