"""`atl-bot runbooks list|validate|plan`: runbooks as data, checked and planned without running anything."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.runbooks.loader import Catalogue, load_runbooks
from bot.runbooks.plan import PlanError, build_plan
from bot.runbooks.render_cli import plan_renderable, problem_text, runbooks_table

runbooks_cli = typer.Typer(no_args_is_help=True, help="Runbooks as data: list, validate, plan.")
err = Console(stderr=True)
out = Console()

EXIT_INVALID = 1  # a runbook file is wrong: fix the file
EXIT_USAGE = 2  # the command's input (or the configuration) is wrong: fix the command line

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="runbooks directory (default: the shipped runbooks/)", show_default=False)
]


def _catalogue(directory: Path | None) -> Catalogue:
    # Imported here: bot.cli imports this module to register the sub-app.
    from bot.cli import settings_and_config

    settings, config = settings_and_config()
    return load_runbooks(directory, environments=config.environments, prometheus_url=str(settings.prometheus_url))


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@runbooks_cli.command("list")
def list_runbooks(directory: DirOption = None) -> None:
    """Every runbook with its role, parameters, step count and whether it validates."""
    catalogue = _catalogue(directory)
    out.print(runbooks_table(catalogue))
    if catalogue.problems:
        _say(err, f"{len(catalogue.problems)} problem(s); `atl-bot runbooks validate` lists them")
        raise typer.Exit(EXIT_INVALID)


@runbooks_cli.command()
def validate(directory: DirOption = None) -> None:
    """Check every runbook against the handler registry and each configured environment."""
    catalogue = _catalogue(directory)
    for problem in catalogue.problems:
        err.print(problem_text(problem), soft_wrap=True)
    if catalogue.problems:
        _say(err, f"{len(catalogue.problems)} problem(s) in {len({p.file for p in catalogue.problems})} file(s)")
        raise typer.Exit(EXIT_INVALID)
    for runbook_id, reasons in sorted(catalogue.unavailable.items()):
        for environment, reason in reasons.items():
            _say(out, f"note: {runbook_id} cannot run in {environment}: {reason}")
    environments = ", ".join(catalogue.environments) or "none configured"
    _say(out, f"{len(catalogue.runbooks)} runbook(s) valid against {len(catalogue.registry)} handlers "
              f"and environments: {environments}")


def parse_vars(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--var expects NAME=VALUE, e.g. --var version=v1.0.0; got {pair!r}")
        if name in values:
            raise ValueError(f"--var {name} is given twice")
        values[name] = value
    return values


@runbooks_cli.command()
def plan(
    name: Annotated[str, typer.Argument(help="runbook id, e.g. deploy-blue-green")],
    var: Annotated[list[str] | None, typer.Option("--var", help="a parameter, NAME=VALUE (repeatable)")] = None,
    env: Annotated[str, typer.Option("--env", help="environment from the configuration")] = "production",
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
    directory: DirOption = None,
) -> None:
    """Print every step NAME would run, with parameters filled in. Runs nothing, contacts nothing."""
    try:
        values = parse_vars(var or [])
    except ValueError as exc:
        _say(err, f"atl-bot: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    catalogue = _catalogue(directory)
    problems = catalogue.problems_of(name)
    if problems:
        for problem in problems:
            err.print(problem_text(problem), soft_wrap=True)
        _say(err, f"atl-bot: runbook {name} is invalid; nothing planned")
        raise typer.Exit(EXIT_INVALID)
    try:
        result = build_plan(catalogue, name, values, env)
    except PlanError as exc:
        _say(err, f"atl-bot: refused: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    if as_json:
        _say(out, result.model_dump_json(indent=2))
    else:
        out.print(plan_renderable(result))
