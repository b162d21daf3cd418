"""Thresholds as the single source: runbooks/thresholds.yml → Prometheus rules and their unit tests."""
