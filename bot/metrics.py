"""Prometheus metrics of the bot itself, served at /metrics."""

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "atl_http_requests", "HTTP requests served", ["route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "atl_http_request_seconds", "HTTP request latency", ["route"], registry=REGISTRY
)
SLACK_COMMANDS = Counter(
    "atl_slack_commands", "Slash commands received", ["command", "outcome"], registry=REGISTRY
)
SLACK_ACTIONS = Counter(
    "atl_slack_actions", "Interactive actions received", ["action", "outcome"], registry=REGISTRY
)
