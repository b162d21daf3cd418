"""A fake Statuspage on a free port and status pages built the way the bot builds them (from Settings)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config.statuspage import StatusPageConfig
from bot.settings import Settings
from bot.statuspage import AffectedComponent, AtlassianStatuspage, ComponentStatus, IncidentStatus, StatusDraft
from tests.statuspage.fake_statuspage import API_KEY, COMPONENTS, PAGE_ID, FakeStatuspage


@pytest.fixture
async def fake_statuspage() -> AsyncIterator[FakeStatuspage]:
    fake = FakeStatuspage()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def settings_for(fake: FakeStatuspage | None, *, key: str | None = API_KEY, page_id: str | None = PAGE_ID) -> Settings:
    values: dict[str, Any] = {"statuspage_api_key": SecretStr(key) if key is not None else None,
                              "statuspage_page_id": page_id}
    if fake is not None:
        values["statuspage_api_url"] = fake.api_url
    return Settings(**values)


def config(**overrides: Any) -> StatusPageConfig:
    return StatusPageConfig.model_validate({"components": COMPONENTS, **overrides})


def draft(status: IncidentStatus, message: str, **components: ComponentStatus) -> StatusDraft:
    return StatusDraft(status=status, title="Checkout failing", message=message,
                       components=[AffectedComponent(name=n, status=s) for n, s in components.items()])


def atlassian(fake: FakeStatuspage, *, key: str = API_KEY, retry_base: float = 0.5,
              timeout: float = 15.0) -> AtlassianStatuspage:
    return AtlassianStatuspage(api_url=fake.api_url, page_id=PAGE_ID, api_key=SecretStr(key), components=COMPONENTS,
                               retry_base=retry_base, timeout=timeout)
