"""`atl-bot incidents export ID`: an incident's postmortem (Markdown) from the timeline of record."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.config import AppConfig
from bot.embedded import Embedded

incidents_cli = typer.Typer(no_args_is_help=True, help="Incidents: export a postmortem.")
err = Console(stderr=True)

EXIT_NOT_FOUND = 1
EXIT_UNREACHABLE = 3


async def _postmortem(url: str, incident_id: int, config: AppConfig) -> str | None:
    from bot.postmortem import load, render
    from bot.store import Store

    store = Store(url, min_size=1, max_size=2)
    await store.open()
    try:
        found = await load(store, incident_id)
    finally:
        await store.close()
    return render(found, config.zone) if found is not None else None


def _say(text: str) -> None:
    err.print(text, markup=False, highlight=False, soft_wrap=True)


@incidents_cli.command("export")
def export(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="the incident's number, e.g. 42")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
) -> None:
    """Print the incident's postmortem as Markdown: summary, impact, key times, timeline, actions, follow-ups."""
    from bot.cli import settings_and_config

    settings, config = settings_and_config()
    embedded = Embedded(settings.atl_data_dir)
    try:
        url = settings.database_url.get_secret_value() if settings.database_url else embedded.postgres_url()
        markdown = asyncio.run(_postmortem(url, incident_id, config))
    except Exception as exc:  # the database is what failed here; say so in one line, not a traceback
        _say(f"atl-bot: cannot read incidents from PostgreSQL ({type(exc).__name__}: {exc}); check DATABASE_URL")
        raise typer.Exit(EXIT_UNREACHABLE) from exc
    finally:
        embedded.stop()
    if markdown is None:
        _say(f"atl-bot: there is no incident #{incident_id}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if output is not None:
        output.write_text(markdown, encoding="utf-8")
        _say(f"wrote {output}")
    else:
        typer.echo(markdown, nl=False)
