"""The escalation matrix in time: who is reachable when, and why (pure domain, no Slack)."""
