"""Plans, runbook lists and problems as rich renderables for the terminal; the data comes from plan.py."""


from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from bot.runbooks.duration import format_duration
from bot.runbooks.loader import Catalogue, Problem
from bot.runbooks.plan import Plan
from bot.runbooks.plan_text import format_params, step_notes


def plan_renderable(plan: Plan) -> RenderableType:
    params = ", ".join(f"{k}={v}" for k, v in plan.params.items() if v is not None) or "none"
    header = Text()
    header.append(f"{plan.title}", style="bold")
    header.append(f" ({plan.runbook_id}) in {plan.environment}\n")
    header.append(f"parameters: {params} · role: {plan.role} · two-person rule: ")
    header.append("on" if plan.two_person_rule else "off")
    if plan.description:
        header.append(f"\n{plan.description}", style="dim")
    # Values fold rather than being cut with "…": a plan shows exactly what would run, at any width.
    table = Table(show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("step", ratio=2, overflow="fold")
    table.add_column("params", ratio=3, overflow="fold")
    for step in plan.steps:
        style = "dim" if step.will_run is False else ("bold red" if step.dangerous else "")
        marker = "⚠ " if step.dangerous and step.will_run is not False else ""
        about = Text(step.name, style=style)
        about.append(f"\n{step.handler} · {step.id}\n", style="cyan" if step.will_run is not False else "dim")
        about.append("\n".join(step_notes(step, plan)), style="red" if step.dangerous and step.will_run else "dim")
        table.add_row(
            Text(f"{marker}{step.number}", style=style),
            about,
            Text("" if step.will_run is False else format_params(step.params)),
        )
    dangerous = len(plan.dangerous_steps)
    footer = Text(
        f"Nothing has run. {dangerous} dangerous step(s) will pause for confirmation"
        f" (expires after {format_duration(plan.confirmation_ttl_s)}).",
        style="dim",
    )
    return Group(header, table, footer)


def runbooks_table(catalogue: Catalogue) -> Table:
    table = Table(expand=True)
    table.add_column("runbook", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("steps", no_wrap=True)
    table.add_column("parameters", overflow="fold", ratio=1, min_width=10)
    table.add_column("status", overflow="fold", min_width=6)
    table.add_column("title", overflow="fold", ratio=2, min_width=14)
    for runbook_id, runbook in sorted(catalogue.runbooks.items()):
        problems = catalogue.problems_of(runbook_id)
        params = ", ".join(name if spec.required else f"[{name}]" for name, spec in runbook.parameters.items())
        dangerous = sum(step.dangerous for step in runbook.steps)
        table.add_row(
            runbook_id,
            runbook.role,
            f"{len(runbook.steps)}" + (f" ({dangerous} ⚠)" if dangerous else ""),
            Text(params or "-"),
            _status(len(problems), sorted(catalogue.unavailable.get(runbook_id, {}))),
            runbook.title,
        )
    return table


def _status(problems: int, unavailable: list[str]) -> Text:
    if problems:
        return Text(f"{problems} problem(s)", style="red")
    return Text("ok" + (f" (not in {', '.join(unavailable)})" if unavailable else ""), style="green")


def problem_text(problem: Problem) -> Text:
    return Text(str(problem))
