"""/deploy and /rollback: a parsed request becomes a runbook run (or its plan); refusals are audited.

Which runbook: `/deploy V` → deploy-blue-green, `/deploy V --pm2` → deploy-pm2; `/rollback` →
rollback-immediate, `/rollback db [--to M]` → rollback-database, `/rollback full V` → rollback-full.
"""

from typing import Any

from bot.engine.preflight import Refusal, RunRequest
from bot.engine.service import Engine
from bot.runbooks.plan import PlanError, build_plan
from bot.runtime import Runtime
from bot.slack import run_blocks
from bot.slack.commands import deploy, rollback
from bot.slack.commands.base import Invocation, Reply
from bot.slack.commands.deploy import DeployRequest
from bot.slack.commands.rollback import RollbackRequest
from bot.slack.plan_blocks import plan_blocks
from bot.store.audit import AuditEntry, record

SERVICE = "engine"
DEPLOY_RUNBOOKS = {"blue-green": "deploy-blue-green", "pm2": "deploy-pm2"}
ROLLBACK_RUNBOOKS = {"immediate": "rollback-immediate", "database": "rollback-database", "full": "rollback-full"}


def deploy_run(request: DeployRequest, invocation: Invocation) -> RunRequest:
    return RunRequest(runbook_id=DEPLOY_RUNBOOKS[request.strategy], environment=request.environment,
                      raw_params={"version": request.version}, user=invocation.user_id, usage=deploy.USAGE,
                      channel=invocation.channel_id, thread_ts=invocation.thread_ts)


def rollback_run(request: RollbackRequest, invocation: Invocation) -> RunRequest:
    params: dict[str, Any] = {}
    if request.kind == "database" and request.to_migration:
        params["to"] = request.to_migration
    if request.kind == "full" and request.version:
        params["version"] = request.version
    return RunRequest(runbook_id=ROLLBACK_RUNBOOKS[request.kind], environment=request.environment,
                      raw_params=params, user=invocation.user_id, usage=rollback.USAGE,
                      channel=invocation.channel_id, thread_ts=invocation.thread_ts)


async def _refused(runtime: Runtime, command: str, invocation: Invocation, problem: str, usage: str) -> Reply:
    await record(runtime.store, AuditEntry(invocation.user_id, "command", command, invocation.text,
                                           invocation.channel_id, "refused", problem))
    return Reply(text=f"{problem}\nCorrect form: {usage}\nNothing was run.",
                 blocks=run_blocks.refusal_blocks(problem, usage))


async def _start(runtime: Runtime, command: str, invocation: Invocation, request: RunRequest) -> Reply:
    engine: Engine = runtime.services[SERVICE]
    try:
        run = await engine.start(request)
    except Refusal as refusal:
        return await _refused(runtime, command, invocation, refusal.problem, refusal.usage)
    channel = runtime.config.channels.deploys
    return Reply(text=f"Run #{run.id} started: {run.label} in {run.environment}; follow it in <#{channel}>.",
                 blocks=run_blocks.started_blocks(run, channel))


async def run_deploy(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, DeployRequest)
    run_request = deploy_run(request, invocation)
    if not request.plan_only:
        return await _start(runtime, "/deploy", invocation, run_request)
    engine: Engine = runtime.services[SERVICE]
    try:
        plan = build_plan(engine.catalogue, run_request.runbook_id, run_request.raw_params, request.environment)
    except PlanError as exc:
        return await _refused(runtime, "/deploy", invocation, str(exc), deploy.USAGE)
    return Reply(text=f"Plan: {plan.title} in {plan.environment} ({len(plan.steps)} steps); nothing has run.",
                 blocks=plan_blocks(plan))


async def run_rollback(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
    assert isinstance(request, RollbackRequest)
    return await _start(runtime, "/rollback", invocation, rollback_run(request, invocation))
