"""The shipped runbooks and example configuration, loaded once against the real handler registry."""

import pytest

from bot.config import AppConfig, load_config
from bot.paths import runbooks_dir
from bot.runbooks.loader import Catalogue, load_runbooks
from handlers.registry import load_all


@pytest.fixture(scope="session")
def example_config() -> AppConfig:
    return load_config(runbooks_dir() / "atl-bot.example.yml")


@pytest.fixture(scope="session")
def shipped(example_config: AppConfig) -> Catalogue:
    return load_runbooks(registry=load_all(), environments=example_config.environments)
