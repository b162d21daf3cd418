"""No status page configured: nothing is posted; callers show the draft for people to copy."""

from bot.statuspage.base import StatusDraft, StatusPageNotConfigured, StatusRef


class NoStatusPage:
    configured = False
    name = "no status page"

    def __init__(self, reason: str = "STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID are not set") -> None:
        self.reason = reason

    def _refuse(self) -> StatusPageNotConfigured:
        return StatusPageNotConfigured(
            f"the status page is not configured ({self.reason}): copy the draft to the status page by hand, "
            "or set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID (or statuspage.webhook_url)")

    async def create(self, draft: StatusDraft) -> StatusRef:
        raise self._refuse()

    async def update(self, ref: StatusRef, draft: StatusDraft) -> StatusRef:
        raise self._refuse()

    async def resolve(self, ref: StatusRef, draft: StatusDraft) -> StatusRef:
        raise self._refuse()

    async def close(self) -> None:
        return None
