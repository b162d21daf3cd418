"""Alert storm: N alerts in G groups posted concurrently to `atl-bot serve`, against a one-INSERT ceiling.

    .venv/bin/python bench/alert_storm.py [--alerts 20000] [--groups 200] [--concurrency 100]

Starts its own PostgreSQL, Redis and fake Slack (the test harness's), then, in the same run:
1. the ceiling: a minimal aiohttp server that does one INSERT per request, in its own process;
2. atl-bot serve, in its own process (every capability installed), with the same requests, then waits
   until every notification is processed and every Slack call sent;
3. the ceiling again (so load from anything else on the machine weighs on both sides).
The load: one webhook request per alert, each a notification of its group carrying the alert that just
joined (N requests; groups interleaved), `concurrency` requests in flight.
Prints alerts/s, p50/p99 webhook latency, peak RSS and CPU seconds (server and PostgreSQL) per server;
incidents, Slack calls per group and the densest Slack traffic on any one thread. Targets: ≥ 0.5 × the
ceiling's rate, exactly G incidents, ≤ 1 Slack call per thread per second. Rates move with whatever else
the machine runs; CPU per alert is the steadier comparison.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bot.store.migrate import migrate  # noqa: E402
from tests.harness.bot import write_config  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.net import free_port  # noqa: E402
from tests.harness.postgres import PgServer  # noqa: E402
from tests.harness.process import ServeProcess  # noqa: E402
from tests.harness.redis import RedisServer  # noqa: E402

TOKEN = "storm-token"
console = Console()

# --- the ceiling: one INSERT per request, nothing else -------------------------------------------------

CEILING = """
import sys
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

pool = AsyncConnectionPool(sys.argv[2], min_size=1, max_size=10, open=False, kwargs={"autocommit": True})

async def receive(request):
    body = await request.read()
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO ceiling (payload) VALUES (%s::jsonb)", (body.decode(),))
    return web.json_response({"status": "stored"})

async def opened(app):
    await pool.open(wait=True)
    yield
    await pool.close()

app = web.Application(client_max_size=1024 * 1024)
app.router.add_post("/webhooks/alertmanager", receive)
app.router.add_get("/readyz", lambda _: web.json_response({"status": "ready"}))
app.cleanup_ctx.append(opened)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


# --- load ----------------------------------------------------------------------------------------------

def payloads(alerts: int, groups: int) -> list[bytes]:
    """One notification per alert, interleaved across groups; every group fires `alerts / groups` alerts."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    out = []
    for k in range(alerts):
        group, member = k % groups, k // groups
        severity = "critical" if group % 10 == 0 else "warning"
        labels = {"alertname": "StormLatency", "service": f"svc-{group:03d}", "instance": f"host-{member:03d}",
                  "severity": severity, "job": "storm"}
        out.append(json.dumps({
            "version": "4", "groupKey": f'{{}}:{{service="svc-{group:03d}"}}', "truncatedAlerts": 0,
            "status": "firing", "receiver": "bot", "groupLabels": {"service": f"svc-{group:03d}"},
            "commonLabels": {k: v for k, v in labels.items() if k != "instance"},
            "commonAnnotations": {"summary": f"latency storm on svc-{group:03d}"},
            "externalURL": "http://127.0.0.1:9093",
            "alerts": [{"status": "firing", "labels": labels, "annotations": {"summary": f"latency storm on "
                                                                             f"svc-{group:03d}"},
                        "startsAt": (start + timedelta(milliseconds=k)).isoformat().replace("+00:00", "Z"),
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://127.0.0.1:9090/graph",
                        "fingerprint": f"{group:04x}{member:04x}"}],
        }).encode())
    return out


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    peak_rss: int = 0
    cpu_s: float = 0.0  # the server process's CPU time during the storm
    db_cpu_s: float = 0.0  # PostgreSQL's, all its processes

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


async def watch_rss(pid: int, result: Result, stop: asyncio.Event) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        try:
            result.peak_rss = max(result.peak_rss, proc.memory_info().rss)
        except psutil.Error:
            return
        await asyncio.sleep(0.1)


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def postgres_cpu(pg_pid: int) -> float:
    main = psutil.Process(pg_pid)
    total = cpu_seconds(main)
    for child in main.children(recursive=True):
        try:
            total += cpu_seconds(child)
        except psutil.Error:
            pass
    return total


async def storm(url: str, bodies: list[bytes], concurrency: int, result: Result, pid: int,
                pg_pid: int) -> None:
    server = psutil.Process(pid)
    cpu0, db0 = cpu_seconds(server), postgres_cpu(pg_pid)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_rss(pid, result, stop))
    queue = iter(bodies)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    statuses: dict[int, int] = defaultdict(int)

    async def worker(session: aiohttp.ClientSession) -> None:
        for body in queue:
            began = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                statuses[resp.status] += 1
            result.latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - began
    result.statuses = dict(statuses)
    result.cpu_s, result.db_cpu_s = cpu_seconds(server) - cpu0, postgres_cpu(pg_pid) - db0
    stop.set()
    await watcher


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url + "/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(sql)
        return list(await cur.fetchall()) if cur.description else []


# --- the two runs --------------------------------------------------------------------------------------

def pg_pid(pg: PgServer) -> int:
    return int((pg.data_dir / "postmaster.pid").read_text().split()[0])


def spawn_ceiling(port: int, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", CEILING, str(port), url])


async def run_ceiling(pg: PgServer, bodies: list[bytes], concurrency: int, name: str) -> Result:
    url = await pg.create_database(name)
    await query(url, "CREATE TABLE ceiling (id bigserial PRIMARY KEY, payload jsonb NOT NULL)")
    port = free_port()
    proc = spawn_ceiling(port, url)
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        result = Result(f"ceiling ({name.rsplit('_', 1)[-1]}): aiohttp + 1 INSERT")
        await storm(f"http://127.0.0.1:{port}/webhooks/alertmanager", bodies, concurrency, result, proc.pid,
                    pg_pid(pg))
        return result
    finally:
        proc.terminate()
        proc.wait()


@dataclass
class BotOutcome:
    result: Result
    drained_after: float
    incidents: int
    notifications: int
    calls_per_group: list[int]
    densest: int  # most Slack calls to one thread within any 1 s
    min_gap: float  # smallest gap between two calls to one thread


async def run_bot(pg: PgServer, redis: RedisServer, slack: FakeSlack, bodies: list[bytes], concurrency: int,
                  workdir: Path) -> BotOutcome:
    db = await pg.create_database("storm_bot")
    await migrate(db)
    config = write_config(workdir / "atl-bot.yml")
    serve = ServeProcess(env={
        "SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": "storm-secret", "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": db, "REDIS_URL": redis.url(1), "ATL_DATA_DIR": str(workdir / "data"),
        "ATL_CONFIG": str(config), "ALERTMANAGER_TOKEN": TOKEN,
    }, workdir=workdir)
    serve.start()
    try:
        await serve.wait_ready()
        assert serve.process is not None
        result = Result("atl-bot serve")
        await storm(serve.url + "/webhooks/alertmanager", bodies, concurrency, result, serve.process.pid,
                    pg_pid(pg))
        began = time.perf_counter()
        while True:
            [(pending,)] = await query(db, "SELECT count(*) FROM alert_notifications WHERE processed_at IS NULL")
            [(queued,)] = await query(db, "SELECT count(*) FROM slack_outbox WHERE state = 'pending'")
            if not pending and not queued:
                break
            if time.perf_counter() - began > 600:
                raise RuntimeError(f"not drained after 600 s: {pending} notifications, {queued} Slack calls")
            await asyncio.sleep(0.2)
        drained = time.perf_counter() - began
        [(incidents,)] = await query(db, "SELECT count(*) FROM incidents")
        [(notifications,)] = await query(db, "SELECT count(*) FROM alert_notifications")
        errors = [line for line in serve.stderr().splitlines() if '"level": "error"' in line]
        if errors:  # say why, rather than only that a target was missed
            console.print(f"[red]atl-bot logged {len(errors)} errors; the last:[/red]\n{errors[-1][:3000]}")
    finally:
        await serve.astop()
    per_thread = slack_per_thread(slack)
    densest, min_gap = 0, float("inf")
    for times in per_thread.values():
        times.sort()
        for i, at in enumerate(times):
            densest = max(densest, sum(1 for t in times[i:] if t - at < 1.0))
            if i:
                min_gap = min(min_gap, at - times[i - 1])
    return BotOutcome(result, drained, incidents, notifications, sorted(len(t) for t in per_thread.values()),
                      densest, min_gap)


class ThreadRecordingSlack(FakeSlack):
    """The fake Slack, also noting which thread each accepted call touched and when."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.thread_calls: dict[tuple[str, str], list[float]] = defaultdict(list)
        post, update = self._methods["chat.postMessage"], self._methods["chat.update"]

        async def posted(args: dict[str, Any]) -> dict[str, Any]:
            result = await post(args)
            thread = str(args.get("thread_ts") or result["ts"])  # a header starts its own thread
            self.thread_calls[(result["channel"], thread)].append(time.time())
            return result

        async def updated(args: dict[str, Any]) -> dict[str, Any]:
            result = await update(args)
            self.thread_calls[(result["channel"], result["ts"])].append(time.time())
            return result

        self._methods["chat.postMessage"], self._methods["chat.update"] = posted, updated


def slack_per_thread(slack: FakeSlack) -> dict[tuple[str, str], list[float]]:
    assert isinstance(slack, ThreadRecordingSlack)
    return slack.thread_calls


# --- report --------------------------------------------------------------------------------------------

def report(args: argparse.Namespace, ceilings: list[Result], bot: BotOutcome) -> bool:
    table = Table(title=f"alert storm: {args.alerts} alerts in {args.groups} groups, "
                        f"{args.concurrency} concurrent requests")
    for column in ("server", "requests", "alerts/s", "p50 ms", "p99 ms", "peak RSS MiB", "CPU s", "DB CPU s",
                   "answers"):
        table.add_column(column, justify="right" if column != "server" else "left")
    for r in (ceilings[0], bot.result, ceilings[1]):
        table.add_row(r.name, str(len(r.latencies)), f"{r.rate:,.0f}", f"{r.percentile(0.5):.1f}",
                      f"{r.percentile(0.99):.1f}", f"{r.peak_rss / 2**20:.0f}", f"{r.cpu_s:.1f}",
                      f"{r.db_cpu_s:.1f}",
                      ", ".join(f"{k}×{v}" for k, v in sorted(r.statuses.items())))
    console.print(table)
    ceiling_rate = statistics.mean(c.rate for c in ceilings)
    ratio = bot.result.rate / ceiling_rate if ceiling_rate else 0.0
    # CPU per alert does not depend on what else the machine runs: the steadier comparison.
    ceiling_cpu = statistics.mean((c.cpu_s + c.db_cpu_s) / len(c.latencies) for c in ceilings)
    bot_cpu = (bot.result.cpu_s + bot.result.db_cpu_s) / len(bot.result.latencies)
    calls = bot.calls_per_group
    checks = [
        ("rate vs ceiling (mean of both runs)", f"{ratio:.2f} ×", ratio >= 0.5, "≥ 0.5 ×"),
        ("CPU per alert, server + PostgreSQL (bot / ceiling)",
         f"{bot_cpu * 1000:.2f} ms / {ceiling_cpu * 1000:.2f} ms", True, "(for the record)"),
        ("incidents", str(bot.incidents), bot.incidents == args.groups, f"exactly {args.groups}"),
        ("notifications stored", str(bot.notifications), bot.notifications == args.alerts, f"{args.alerts}"),
        ("Slack calls per group (min / median / max)",
         f"{calls[0]} / {statistics.median(calls):.0f} / {calls[-1]}" if calls else "none",
         len(calls) == args.groups, f"{args.groups} threads"),
        ("most Slack calls to one thread within 1 s", f"{bot.densest} (min gap {bot.min_gap:.2f} s)",
         bot.densest <= 1, "≤ 1"),
        ("processing + Slack drained after the storm", f"{bot.drained_after:.1f} s", True, ""),
    ]
    summary = Table(title="targets")
    for column in ("measure", "value", "target", "ok"):
        summary.add_column(column)
    for name, value, ok, target in checks:
        summary.add_row(name, value, target, "yes" if ok else "NO")
    console.print(summary)
    return all(ok for _, _, ok, _ in checks)


async def main(args: argparse.Namespace) -> int:
    bodies = payloads(args.alerts, args.groups)
    with tempfile.TemporaryDirectory(prefix="atl-storm-") as tmp:
        pg = PgServer.create()
        redis = RedisServer.start()
        slack = ThreadRecordingSlack()
        await slack.start()
        try:
            # Ceiling before and after the bot, so load from anything else on the machine hits both sides.
            console.print("[bold]ceiling run…[/bold]")
            before = await run_ceiling(pg, bodies, args.concurrency, "storm_ceiling_before")
            console.print("[bold]atl-bot run…[/bold]")
            bot = await run_bot(pg, redis, slack, bodies, args.concurrency, Path(tmp))
            console.print("[bold]ceiling run again…[/bold]")
            after = await run_ceiling(pg, bodies, args.concurrency, "storm_ceiling_after")
        finally:
            await slack.stop()
            redis.stop()
            pg.destroy()
    return 0 if report(args, [before, after], bot) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=100)
    sys.exit(asyncio.run(main(parser.parse_args())))
