"""Value types and the YAML reading shared by every configuration-like file (config, thresholds)."""

import re
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator

from bot.errors import ConfigError


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from exc
    return value


Regex = Annotated[str, AfterValidator(_compiles)]


def yaml_mapping(text: str, source: str, expected: str) -> dict[str, Any]:
    """Parse YAML that must be a mapping; ConfigError names the source, the line and what was expected."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected {expected}")
    return raw
