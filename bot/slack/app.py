"""The Bolt AsyncApp: one listener per slash command, shared by HTTP and Socket Mode."""

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.error import BoltUnhandledRequestError

from bot.errors import UsageError
from bot.logs import user_id
from bot.metrics import SLACK_COMMANDS
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.audit import audit_interaction
from bot.slack.commands import COMMANDS, CommandSpec
from bot.slack.commands.base import Help, Invocation
from bot.store.audit import AuditEntry, record

log = logging.getLogger(__name__)


def build_app(runtime: Runtime) -> AsyncApp:
    settings = runtime.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""

    async def authorize(**_: Any) -> AuthorizeResult:
        # One workspace, one bot token: no auth.test round trip before every first request.
        return AuthorizeResult(enterprise_id=None, team_id=None, bot_token=token)

    app = AsyncApp(
        client=runtime.slack,
        signing_secret=secret,
        authorize=authorize,
        # Socket Mode requests are not signed; HTTP ones always are (Bolt verifies v0 HMAC, 5-minute window).
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        # Unhandled buttons reach the error handler below, so they are audited too.
        raise_error_for_unhandled_request=True,
    )
    for spec in COMMANDS.values():
        app.command(spec.name)(_command_listener(runtime, spec))

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        if isinstance(error, BoltUnhandledRequestError):
            kind = body.get("type")
            if kind in INTERACTIONS:
                action = _interaction_name(body)
                await audit_interaction(runtime, body, action, "", "refused", "no listener for this interaction")
            else:
                log.warning("unhandled Slack request", extra={"type": kind})
            return
        log.error("listener failed", exc_info=error, extra={"type": body.get("type")})

    return app


INTERACTIONS = {"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"}


def _interaction_name(body: dict[str, Any]) -> str:
    actions = body.get("actions") or []
    if actions:
        return str(actions[0].get("action_id", "unknown"))
    view = body.get("view") or {}
    return str(view.get("callback_id") or body.get("callback_id") or body.get("action_id") or "unknown")


def _command_listener(runtime: Runtime, spec: CommandSpec):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        invocation = Invocation(
            user_id=command.get("user_id", ""),
            channel_id=command.get("channel_id", ""),
            text=(command.get("text") or "").strip(),
            response_url=command.get("response_url"),
            trigger_id=command.get("trigger_id"),
            thread_ts=command.get("thread_ts"),
        )
        user_id.set(invocation.user_id)

        async def audit(outcome: str, reason: str | None = None) -> None:
            SLACK_COMMANDS.labels(command=spec.name, outcome=outcome).inc()
            log.info("slash command", extra={"command": spec.name, "text": invocation.text, "outcome": outcome,
                                             "reason": reason})
            await record(runtime.store, AuditEntry(invocation.user_id, "command", spec.name, invocation.text,
                                                   invocation.channel_id, outcome, reason))  # type: ignore[arg-type]

        try:
            request = spec.parse(invocation.text)
            if spec.check is not None:
                spec.check(request, runtime.config)
        except UsageError as err:
            await audit("refused", err.problem)
            await ack(text=str(err), blocks=blocks.usage_error_blocks(err), response_type="ephemeral")
            return
        if isinstance(request, Help):
            await audit("accepted", "help")
            text = spec.help_text()
            await ack(text=text, blocks=blocks.help_blocks(text), response_type="ephemeral")
            return
        executor = spec.executor_for(request)
        if executor is None:
            reason = f"{spec.name} is understood but not enabled in this build yet"
            await audit("refused", reason)
            text = f"`{spec.name} {invocation.text}` is valid, but {reason}. Nothing was run."
            await ack(text=text, blocks=blocks.notice_blocks(text), response_type="ephemeral")
            return
        await audit("accepted")
        await ack()
        # After the ack: slow work has the rest of the listener, Slack already has its 200.
        reply = await executor(runtime, invocation, request)
        if reply is not None:
            await respond(text=reply.text, blocks=list(reply.blocks) if reply.blocks else None,
                          response_type="ephemeral" if reply.ephemeral else "in_channel")

    return listener
