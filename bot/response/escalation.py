"""Whom to page for an unacknowledged incident, and when to go to the next person (pure, no Slack).

The chain is the escalation matrix's reachable people at the moment of paging, in matrix order; each step
pages the first of them not paged yet, so a person who became reachable meanwhile (business hours began)
joins the chain, and one who left it is skipped.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.escalation import EscalationConfig
from bot.incidents.severity import Severity
from bot.oncall.roster import Reach, reachable_at


@dataclass(frozen=True)
class PageDecision:
    page: Reach | None  # whom to page now (None: nobody new is reachable)
    after: list[Reach] = field(default_factory=list)  # who comes next, in order
    timeout: timedelta | None = None  # escalate to the next after this long without an acknowledgement
    matrix_empty: bool = False
    unreachable: list[Reach] = field(default_factory=list)  # in the matrix but not reachable now


def decide(config: EscalationConfig, zone: ZoneInfo, at: datetime, severity: Severity,
           paged: list[str]) -> PageDecision:
    status = reachable_at(config, zone, at)
    if not status.people:
        return PageDecision(page=None, matrix_empty=True)
    fresh = [reach for reach in status.reachable if reach.contact.slack_id not in paged]
    timeout = config.ack_timeout_minutes.for_severity(severity.value)
    if not fresh:
        return PageDecision(page=None, timeout=timeout, unreachable=status.unreachable)
    return PageDecision(page=fresh[0], after=fresh[1:], timeout=timeout, unreachable=status.unreachable)
