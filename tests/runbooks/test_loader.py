"""Loading runbooks: every problem names the file, the line, the step and the reason."""

import textwrap
from pathlib import Path

import pytest

from bot.runbooks.loader import Problem, RunbookLoadError, load_runbooks
from handlers.registry import REGISTRY
from tests.runbooks import stubs  # noqa: F401  (registers test.echo and test.probe)
from tests.runbooks.envs import environment

GOOD = """\
id: deploy-demo
title: Demo
role: deployer
parameters:
  version: {type: string, required: true, pattern: '^v\\d+$', hint: "e.g. v1"}
steps:
  - id: probe
    name: Probe
    handler: test.probe
    params: {url: "{{ env.health.public_url }}"}
  - id: echo
    name: Echo
    handler: test.echo
    params:
      text: "{{ params.version }} to {{ probe.idle_colour }}"
      colour: "{{ probe.idle_colour }}"
      ports: {"{{ env.container_port }}/tcp": "{{ env.colours[probe.idle_colour].port }}"}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(directory: Path, **kwargs: object) -> list[Problem]:
    return load_runbooks(directory, registry=REGISTRY, **kwargs).problems  # type: ignore[arg-type]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_a_good_runbook_loads_with_no_problems(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD)
    catalogue = load_runbooks(tmp_path, registry=REGISTRY, environments={"production": environment()})
    assert catalogue.problems == []
    assert [step.id for step in catalogue.get("deploy-demo").steps] == ["probe", "echo"]


def test_an_unknown_handler_names_file_line_step_and_a_suggestion(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD.replace("handler: test.echo", "handler: test.ecko"))
    problem = only(load(tmp_path))
    assert problem.file.name == "deploy-demo.yml"
    assert problem.step == "echo"
    assert problem.line == 13
    assert str(problem) == (
        f"{tmp_path.name}/deploy-demo.yml:13: step echo: unknown handler 'test.ecko' (did you mean test.echo?)"
    )


def test_a_param_of_the_wrong_type_points_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD + "      count: many\n")
    problem = only(load(tmp_path))
    assert (problem.step, problem.line) == ("echo", 18)
    assert "params.count: Input should be a valid integer" in problem.reason


def test_unknown_and_missing_params_say_what_the_handler_takes(tmp_path: Path) -> None:
    text = GOOD.replace('      text: "{{ params.version }} to {{ probe.idle_colour }}"\n', "      txt: hi\n")
    write(tmp_path, "deploy-demo.yml", text)
    reasons = sorted(p.reason for p in load(tmp_path))
    assert reasons == [
        "params.text: required by test.echo but not given",
        "params.txt: unknown param for test.echo (it takes: text, count, colour, argv, ports)",
    ]


def test_values_from_earlier_steps_are_judged_when_known_but_literals_are_judged_now(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD.replace('colour: "{{ probe.idle_colour }}"', "colour: purple"))
    problem = only(load(tmp_path))
    assert problem.step == "echo" and "params.colour: Input should be 'blue' or 'green'" in problem.reason


def test_an_environment_value_of_the_wrong_type_names_the_environment(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD + '      count: "{{ env.name }}"\n')
    assert load(tmp_path) == []  # without environments, env values are not known
    problem = only(load(tmp_path, environments={"staging": environment()}))
    assert problem.reason.startswith("in environment staging: params.count: Input should be a valid integer")
    assert problem.reason.endswith("(from {{ env.name }})")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("{{ params.version }} to", "{{ params.tag }} to"), "params.tag: no parameter 'tag' is declared"),
        (("{{ env.health.public_url }}", "{{ env.health.url }}"), "env.health has no 'url' (it has public_url,"),
        (("{{ env.colours[probe.idle_colour].port }}", "{{ env.colours.purple.port }}"), "env.colours has no 'purple'"),
        (("{{ env.health.public_url }}", "{{ echo.colour }}"), "step 'echo' runs later"),
        (("{{ env.health.public_url }}", "{{ probe.colour }}"), "a step cannot use its own outputs"),
        (("{{ env.health.public_url }}", "{{ ghost.colour }}"), "unknown name 'ghost'"),
        (("{{ env.health.public_url }}", "{{ thresholds.application.nope }}"), "thresholds has no 'application'"),
    ],
)
def test_references_that_cannot_resolve_are_reported(tmp_path: Path, change: tuple[str, str], reason: str) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD.replace(*change))
    problem = only(load(tmp_path))
    assert reason in problem.reason


@pytest.mark.parametrize(
    ("change", "step", "reason"),
    [
        (("    name: Echo\n", "    name: Echo\n    dangerous: true\n"), "echo", "dangerous step needs confirm_text"),
        (("  - id: echo", "  - id: probe"), None, "step id 'probe' is used twice"),
        (("    name: Echo\n", "    name: Echo\n    on_failure: retry\n"), "echo", "on_failure: expected stop,"),
        (("    name: Echo\n", "    name: Echo\n    when: params.version or x\n"), "echo", "expected the end"),
        (("    name: Echo\n", "    name: Echo\n    timeout: soon\n"), "echo", "timeout: Value error, 'soon' is not"),
        (("  - id: echo", "  - id: env"), "env", "'env' is reserved"),
        (("role: deployer", "role: boss"), None, "role: Input should be 'deployer', 'approver' or 'admin'"),
        (("    name: Echo\n", "    name: Echo\n    retries: 3\n"), "echo", "retries: unknown key"),
    ],
)
def test_schema_errors_name_the_step_and_the_key(
    tmp_path: Path, change: tuple[str, str], step: str | None, reason: str
) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD.replace(*change))
    problem = only(load(tmp_path))
    assert problem.step == step
    assert reason.removeprefix("timeout: Value error, ") in problem.reason
    assert problem.line is not None


def test_the_id_must_be_the_file_name(tmp_path: Path) -> None:
    write(tmp_path, "deploy-other.yml", GOOD)
    problem = only(load(tmp_path))
    assert (problem.line, problem.reason) == (1, "id 'deploy-demo' must equal the file name 'deploy-other'")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "maint-broken.yml", "id: maint-broken\nsteps:\n  - id: [unclosed\n")
    problem = only(load(tmp_path))
    assert problem.line == 4 and problem.reason.startswith("not valid YAML")


def test_a_key_given_twice_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD.replace("    name: Echo\n", "    name: Echo\n    name: Again\n"))
    problem = only(load(tmp_path))
    assert (problem.line, problem.reason) == (13, "key 'name' appears twice")


def test_only_prefixed_files_are_runbooks_and_a_misnamed_runbook_is_not_silently_skipped(tmp_path: Path) -> None:
    write(tmp_path, "escalation.yml", "matrix: []\n")  # not a runbook, and not reported
    write(tmp_path, "alert-routing.yml", "routes: []\n")
    write(tmp_path, "demo.yml", GOOD)
    problem = only(load(tmp_path))
    assert problem.file.name == "demo.yml"
    assert "runbook files are named deploy-*.yml, rollback-*.yml, maint-*.yml" in problem.reason


def test_on_failure_must_offer_a_runbook_that_exists_and_needs_no_arguments(tmp_path: Path) -> None:
    failing = GOOD.replace("    name: Echo\n", "    name: Echo\n    on_failure: {rollback: rollback-demo}\n")
    write(tmp_path, "deploy-demo.yml", failing)
    assert only(load(tmp_path)).reason == "on_failure: no runbook 'rollback-demo'"
    write(tmp_path, "rollback-demo.yml", GOOD.replace("id: deploy-demo", "id: rollback-demo"))
    problem = only(load(tmp_path))
    assert (problem.file.name, problem.step) == ("deploy-demo.yml", "echo")
    assert problem.reason == "on_failure: rollback-demo needs version, which a failed step cannot supply"


def test_a_broken_thresholds_file_is_reported_as_such(tmp_path: Path) -> None:
    write(tmp_path, "thresholds.yml", "version: 1\n")
    problem = only(load(tmp_path))
    assert (problem.file.name, problem.reason) == ("thresholds.yml", "tables: required key is missing")


def test_require_raises_with_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "deploy-demo.yml", GOOD.replace("test.echo", "test.nope").replace("test.probe", "test.nada"))
    with pytest.raises(RunbookLoadError) as caught:
        load_runbooks(tmp_path, registry=REGISTRY).require()
    assert len(caught.value.problems) == 2
