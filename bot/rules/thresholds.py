"""Load runbooks/thresholds.yml: the runbook's metric tables, for the rules generator, /health and deploys."""

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from bot.config.types import yaml_mapping
from bot.errors import ConfigError
from bot.paths import runbooks_dir
from bot.rules.model import Direction, Level, Table, Threshold, Thresholds

__all__ = ["Direction", "Level", "Table", "Threshold", "Thresholds", "default_path", "load"]


def default_path() -> Path:
    return runbooks_dir() / "thresholds.yml"


def _where(err: dict) -> str:  # type: ignore[type-arg]
    return ".".join(str(part) for part in err["loc"]) or "(top level)"


def parse(text: str, source: str = "thresholds") -> Thresholds:
    """Validate thresholds YAML; ConfigError names the source, the key and what is wrong."""
    raw = yaml_mapping(text, source, "a mapping with version, tables and runbook_alerts")
    try:
        return Thresholds.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "required key is missing" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{source}: {_where(err)}: {msg}") from exc  # type: ignore[arg-type]


def load(path: Path | None = None) -> Thresholds:
    """The thresholds from `path`, or the shipped runbooks/thresholds.yml."""
    path = path or default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} does not exist; expected the thresholds file (runbooks/thresholds.yml)") from exc
    return parse(text, str(path))


@lru_cache(maxsize=1)
def shipped() -> Thresholds:
    """The shipped file, read once: for code that only reads thresholds (/health, deploy monitoring)."""
    return load()
