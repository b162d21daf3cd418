"""The `atl-bot` command line (typer + rich)."""

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.cli_incidents import incidents_cli
from bot.cli_rules import rules_cli
from bot.cli_runbooks import runbooks_cli
from bot.config import AppConfig, load_config
from bot.errors import ConfigError
from bot.logs import setup_logging
from bot.settings import Settings, load_settings

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="atl-bot: the production runbook, from Slack.")
manifest_cli = typer.Typer(no_args_is_help=True, help="The Slack app manifest.")
cli.add_typer(manifest_cli, name="manifest")
cli.add_typer(rules_cli, name="rules")
cli.add_typer(runbooks_cli, name="runbooks")
cli.add_typer(incidents_cli, name="incidents")
err = Console(stderr=True)
out = Console()

EXIT_CONFIG = 2


def fail_config(exc: ConfigError) -> typer.Exit:
    # One line, naming the variable or key: operators grep for it.
    err.print(f"atl-bot: configuration error: {exc}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_CONFIG)


def settings_and_config() -> tuple[Settings, AppConfig]:
    try:
        settings = load_settings()
        return settings, load_config(settings.config_path())
    except ConfigError as exc:
        raise fail_config(exc) from exc


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 3000,
) -> None:
    """Run the bot: Slack endpoint, Alertmanager webhook, health and metrics."""
    from bot.server import StartupError
    from bot.server import serve as run_server
    from bot.statuspage import build_status_page

    setup_logging()
    settings, config = settings_and_config()
    try:
        settings.require_serve()
        # Checked here too, so half a status-page setup stops startup before any storage is started.
        build_status_page(settings, config.statuspage)
    except ConfigError as exc:
        raise fail_config(exc) from exc
    try:
        asyncio.run(run_server(settings, config, host, port))
    except ConfigError as exc:  # found while wiring capabilities (e.g. half a status-page setup)
        raise fail_config(exc) from exc
    except StartupError as exc:
        err.print(f"atl-bot: cannot start: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc


@cli.command()
def migrate() -> None:
    """Apply database migrations (also done at serve startup)."""
    from bot.embedded import Embedded
    from bot.store.migrate import migrate as run_migrations

    setup_logging()
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail_config(exc) from exc
    embedded = Embedded(settings.atl_data_dir)
    try:
        url = settings.database_url.get_secret_value() if settings.database_url else embedded.postgres_url()
        applied = asyncio.run(run_migrations(url))
    finally:
        embedded.stop()
    out.print(f"applied {len(applied)} migration(s)" + (f": {applied}" if applied else ", schema up to date"))


@manifest_cli.command("check")
def manifest_check(
    path: Annotated[Path, typer.Option(help="manifest to check")] = Path("manifest.yml"),
) -> None:
    """Fail when manifest.yml and the registered slash commands differ."""
    from bot.slack.manifest import check_manifest

    problems = check_manifest(path)
    if problems:
        for problem in problems:
            err.print(f"manifest: {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"{path}: matches the registered commands")


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
