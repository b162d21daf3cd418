"""The runbook's four severities; P1 is the most severe."""

from enum import StrEnum

DESCRIPTIONS = {
    "P1": "critical: complete outage or data loss",
    "P2": "high: major functionality broken, significant performance degradation",
    "P3": "medium: minor functionality broken, moderate performance issue",
    "P4": "low: cosmetic, minor bugs",
}


class Severity(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 … 4 for P4: a lower rank is more severe."""
        return int(self.value[1])

    def is_above(self, other: "Severity") -> bool:
        return self.rank < other.rank

    @property
    def is_major(self) -> bool:
        """P1/P2 go to the incidents channel and get the full procedure; P3/P4 to the alerts channel."""
        return self.rank <= 2

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.value]

    @staticmethod
    def highest(severities: "list[Severity]") -> "Severity | None":
        return min(severities, key=lambda s: s.rank) if severities else None
