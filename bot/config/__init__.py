"""The YAML configuration file, validated at startup by pydantic models (one module per section)."""

from bot.config.model import AppConfig, load_config

__all__ = ["AppConfig", "load_config"]
