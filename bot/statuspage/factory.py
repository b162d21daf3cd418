"""Pick the status page from the environment and the `statuspage:` section; refuse half a configuration."""

import re

from bot.config.statuspage import StatusPageConfig
from bot.errors import ConfigError
from bot.settings import Settings
from bot.statuspage.atlassian import AtlassianStatuspage
from bot.statuspage.base import StatusPage
from bot.statuspage.disabled import NoStatusPage
from bot.statuspage.webhook import WebhookStatusPage

_PAGE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def build_status_page(settings: Settings, config: StatusPageConfig) -> StatusPage:
    key = settings.statuspage_api_key
    page_id = (settings.statuspage_page_id or "").strip() or None
    if key is not None and not key.get_secret_value().strip():
        key = None
    if config.webhook_url is not None:
        if page_id is not None:
            raise ConfigError("STATUSPAGE_PAGE_ID is set and so is statuspage.webhook_url: unset one of them "
                              "(Atlassian Statuspage or the generic webhook, not both)")
        return WebhookStatusPage(url=str(config.webhook_url), token=key)
    if key is None and page_id is None:
        return NoStatusPage()
    if page_id is None:
        raise ConfigError("STATUSPAGE_PAGE_ID is not set: expected the Statuspage page ID (STATUSPAGE_API_KEY is "
                          "set), or unset STATUSPAGE_API_KEY for prompts only")
    if key is None:
        raise ConfigError("STATUSPAGE_API_KEY is not set: expected a Statuspage API key (STATUSPAGE_PAGE_ID is "
                          "set), or unset STATUSPAGE_PAGE_ID for prompts only")
    if not _PAGE_ID.match(page_id):
        raise ConfigError(f"STATUSPAGE_PAGE_ID is invalid: {page_id!r} is not a page ID like 'kctbh9vrtdwd'")
    return AtlassianStatuspage(api_url=str(settings.statuspage_api_url), page_id=page_id, api_key=key,
                               components=dict(config.components),
                               deliver_notifications=config.deliver_notifications)
