"""prometheus.check and prometheus.watch against a real Prometheus scraping a metrics app the test steers.

The rules are the runbook's (runbooks/thresholds.yml): p95 latency warning 0.5 s / critical 1 s and
error rate warning 1 % / critical 5 %.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from handlers.prometheus import CheckParams, Rule, WatchParams, check, watch
from handlers.registry import StepContext
from tests.harness.net import free_port
from tests.stack.prometheus import MetricsApp, PrometheusServer

P95 = 'max by (instance) (http_request_duration_seconds{quantile="0.95"})'
ERRORS = ('sum(rate(http_requests_total{status=~"5.."}[3s])) / sum(rate(http_requests_total[3s]))')
RULES: list[dict[str, Any]] = [
    {"name": "application.response_time_p95", "promql": P95, "warning": 0.5, "critical": 1.0, "direction": "above"},
    {"name": "application.error_rate", "promql": ERRORS, "warning": 0.01, "critical": 0.05, "direction": "above"},
]


@pytest.fixture
async def metrics(metrics_app: MetricsApp, prometheus: PrometheusServer) -> AsyncIterator[MetricsApp]:
    """A healthy app, as Prometheus sees it; put back to healthy afterwards (rates use a 3 s window)."""
    metrics_app.set(p95_s=0.12, rps=200, error_ratio=0.0)
    await prometheus.wait_for_value(P95, lambda v: v == 0.12)
    await prometheus.wait_for_value(ERRORS, lambda v: v == 0)
    yield metrics_app
    metrics_app.set(p95_s=0.12, rps=200, error_ratio=0.0)


async def test_healthy_metrics_pass(metrics: MetricsApp, prometheus: PrometheusServer) -> None:
    result = await check(CheckParams(url=prometheus.url, rules=RULES), StepContext())
    assert result.ok, result.output
    assert result.outputs["breaches"] == []
    assert result.outputs["values"]["application.response_time_p95"] == 0.12
    assert result.outputs["values"]["application.error_rate"] == 0
    assert result.summary == "all 2 rule(s) within thresholds"


async def test_a_critical_p95_fails_the_check(metrics: MetricsApp, prometheus: PrometheusServer) -> None:
    metrics.set(p95_s=1.8)
    await prometheus.wait_for_value(P95, lambda v: v == 1.8)
    result = await check(CheckParams(url=prometheus.url, rules=RULES), StepContext())
    assert not result.ok
    assert result.outputs["breaches"] == [{"rule": "application.response_time_p95", "level": "critical",
                                           "value": 1.8, "threshold": 1.0, "direction": "above"}]
    assert result.summary.startswith("critical: application.response_time_p95 = 1.8 [critical]")


async def test_direction_below_and_no_data(metrics: MetricsApp, prometheus: PrometheusServer) -> None:
    rules = [
        # Hit rate style: bad when it falls. 200 rps is under both thresholds here.
        {"name": "throughput", "promql": "sum(rate(http_requests_total[3s]))", "warning": 500, "critical": 300,
         "direction": "below"},
        {"name": "absent", "promql": "no_such_metric", "warning": 1, "critical": 2},
        {"name": "absent_is_bad", "promql": "no_such_metric", "warning": 1, "critical": 2, "on_no_data": "warning"},
    ]
    result = await check(CheckParams(url=prometheus.url, rules=rules), StepContext())
    assert not result.ok
    levels = {b["rule"]: b["level"] for b in result.outputs["breaches"]}
    assert levels == {"throughput": "critical", "absent_is_bad": "warning"}
    assert result.outputs["values"]["absent"] is None
    assert "absent = no data [ok]" in result.output


async def test_bad_promql_and_no_prometheus_fail(prometheus: PrometheusServer) -> None:
    bad = await check(CheckParams(url=prometheus.url, rules=[{"name": "x", "promql": "sum(", "warning": 1,
                                                                "critical": 2}]), StepContext())
    assert not bad.ok
    assert "400" in bad.summary
    down = await check(CheckParams(url=f"http://127.0.0.1:{free_port()}", rules=RULES), StepContext(timeout_s=10))
    assert not down.ok
    assert "ConnectionError" in down.summary


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        Rule(name="x", promql="up", warning=2, critical=1, direction="above")


async def test_watch_passes_a_quiet_window(metrics: MetricsApp, prometheus: PrometheusServer) -> None:
    result = await watch(WatchParams(url=prometheus.url, rules=RULES, duration_s=2, interval_s=0.5), StepContext())
    assert result.ok, result.output
    assert result.outputs["samples"] == 5  # t = 0, 0.5, 1, 1.5, 2
    assert result.summary == "no critical breach in 2s (5 samples)"


async def test_watch_fails_at_the_first_critical_breach(metrics: MetricsApp, prometheus: PrometheusServer) -> None:
    async def regression() -> None:
        await asyncio.sleep(1.0)
        metrics.set(p95_s=2.5)

    task = asyncio.create_task(regression())
    result = await watch(WatchParams(url=prometheus.url, rules=RULES, duration_s=60, interval_s=0.25),
                         StepContext(timeout_s=120))
    await task
    assert not result.ok
    assert result.summary.startswith("critical breach ")
    assert "application.response_time_p95 = 2.5 [critical]" in result.summary
    assert result.outputs["breaches"][-1]["value"] == 2.5
    # It stopped at the breach, long before the 60 s window (240 samples) was over.
    assert result.outputs["samples"] < 100


async def test_a_warning_is_reported_but_passes(metrics: MetricsApp, prometheus: PrometheusServer) -> None:
    metrics.set(error_ratio=0.02)
    await prometheus.wait_for_value(ERRORS, lambda v: 0.015 < v < 0.03)
    result = await check(CheckParams(url=prometheus.url, rules=RULES), StepContext())
    assert result.ok
    assert [b["level"] for b in result.outputs["breaches"]] == ["warning"]
    assert result.summary.startswith("warning: application.error_rate")
