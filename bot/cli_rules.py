"""`atl-bot rules`: generate the Prometheus rules from runbooks/thresholds.yml, or check they are current."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.errors import ConfigError
from bot.rules import files
from bot.rules.thresholds import Thresholds, load

rules_cli = typer.Typer(no_args_is_help=True, help="Prometheus rules generated from runbooks/thresholds.yml.")
err = Console(stderr=True)
out = Console()

EXIT_STALE = 1
EXIT_CONFIG = 2

ThresholdsOpt = Annotated[Path | None, typer.Option("--thresholds", help="thresholds file [runbooks/thresholds.yml]")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="rules file [deploy/prometheus/atl-rules.yml]")]
TestsOpt = Annotated[Path | None, typer.Option("--tests-out",
                                               help="promtool unit tests [tests/<rules name>.test.yml beside --out]")]


def _load(path: Path | None) -> Thresholds:
    try:
        return load(path)
    except ConfigError as exc:
        err.print(f"atl-bot: thresholds error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from exc


@rules_cli.command("generate")
def generate(thresholds: ThresholdsOpt = None, out_path: OutOpt = None, tests_out: TestsOpt = None) -> None:
    """Write the rules file and its promtool unit tests."""
    outputs = files.Outputs.at(out_path, tests_out)
    changed = files.write(_load(thresholds), outputs)
    for path in (outputs.rules, outputs.tests):
        out.print(f"{path}: {'written' if path in changed else 'unchanged'}", markup=False, highlight=False)


@rules_cli.command("check")
def check(thresholds: ThresholdsOpt = None, out_path: OutOpt = None, tests_out: TestsOpt = None) -> None:
    """Exit 1 when the committed rules or tests differ from what the thresholds generate."""
    outputs = files.Outputs.at(out_path, tests_out)
    stale = files.stale(_load(thresholds), outputs)
    if stale:
        for path in stale:
            err.print(f"{path}: stale or missing; run `atl-bot rules generate` and commit it",
                      markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_STALE)
    out.print(f"{outputs.rules} and {outputs.tests}: current", markup=False, highlight=False, soft_wrap=True)
