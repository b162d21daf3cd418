"""The safe templating: lookups only, typed whole values, pending values in plans, secrets kept out."""

import pytest
from pydantic import SecretStr

from bot.runbooks.template import (
    MASK,
    Pending,
    PendingText,
    Scope,
    TemplateError,
    evaluate,
    render,
    render_text,
    unresolved,
)

ENV = {
    "name": "production",
    "colours": {"blue": {"port": 3002, "dir": "/app/blue"}, "green": {"port": 3001, "dir": "/app/green"}},
    "test_cmd": ["nginx", "-t"],
    "smoke_cmd": ["./smoke.sh", "--quick"],
    "window": 600.0,
    "dsn": SecretStr("postgresql://u:pw@db/app"),
    "pm2": None,
    "use_deploy": False,
}


def scope(**kwargs: object) -> Scope:
    values: dict = {"params": {"version": "v1.0.0"}, "env": ENV, "step_ids": frozenset({"live"})}
    values.update(kwargs)
    return Scope(**values)


def test_a_whole_expression_keeps_its_type() -> None:
    rendered = render({"cmd": "{{ env.test_cmd }}", "port": "{{ env.colours.blue.port }}", "s": "{{ env.window }}"},
                      scope())
    assert rendered == {"cmd": ["nginx", "-t"], "port": 3002, "s": 600.0}


def test_text_around_expressions_interpolates() -> None:
    assert render("img:{{ params.version }} on {{ env.name }}", scope()) == "img:v1.0.0 on production"
    assert render("{{ env.window }}s", scope()) == "600s"


def test_an_index_can_be_another_path_or_a_literal() -> None:
    outputs = {"live": {"idle_colour": "green"}}
    assert render("{{ env.colours[live.idle_colour].dir }}", scope(steps=outputs)) == "/app/green"
    assert render("{{ env.colours['blue'].port }}", scope()) == 3002
    assert render("{{ steps.live.outputs.idle_colour }}", scope(steps=outputs)) == "green"


def test_splat_splices_a_list_into_the_surrounding_list() -> None:
    assert render(["{{ *env.smoke_cmd }}", "blue"], scope()) == ["./smoke.sh", "--quick", "blue"]
    with pytest.raises(TemplateError, match="whole list item"):
        render("x {{ *env.smoke_cmd }}", scope())


def test_dict_keys_are_rendered_too() -> None:
    assert render({"{{ env.colours.blue.port }}/tcp": 1}, scope()) == {"3002/tcp": 1}


def test_unknown_step_outputs_are_pending_in_a_plan_and_show_where_they_come_from() -> None:
    rendered = render({"c": "{{ live.colour }}", "u": "http://h:{{ env.colours[live.idle_colour].port }}/x"}, scope())
    assert isinstance(rendered["c"], Pending)
    assert str(rendered["c"]) == "<from step live: colour>"
    assert isinstance(rendered["u"], PendingText)
    assert rendered["u"] == "http://h:<from step live: 3002 or 3001>/x"
    assert sorted(unresolved(rendered)) == [("c",), ("u",)]


def test_at_run_time_anything_unresolved_is_an_error() -> None:
    with pytest.raises(TemplateError, match="step 'live' has not run"):
        render("{{ live.colour }}", scope(final=True))
    with pytest.raises(TemplateError, match="has no 'colour'"):
        render("{{ live.colour }}", scope(final=True, steps={"live": {"version": "v1"}}))


def test_names_that_do_not_exist_say_what_does() -> None:
    with pytest.raises(TemplateError, match=r"env.colours has no 'purple' \(it has blue, green\)"):
        render("{{ env.colours.purple.port }}", scope())
    with pytest.raises(TemplateError, match="unknown name 'nope'"):
        render("{{ nope.x }}", scope())
    with pytest.raises(TemplateError, match=r"env\.pm2 is not set"):
        render("{{ env.pm2.app_dir }}", scope())


def test_no_code_runs_inside_braces() -> None:
    for text in ("{{ __import__('os').system('true') }}", "{{ env.name.upper() }}", "{{ 1 + 1 }}", "{{ env.x | y }}"):
        with pytest.raises(TemplateError):
            render(text, scope())


def test_unbalanced_braces_are_refused() -> None:
    with pytest.raises(TemplateError, match="unbalanced"):
        render("{{ params.version", scope())


def test_secrets_are_masked_in_plans_and_revealed_and_collected_at_run_time() -> None:
    plan_scope = scope()
    assert render("{{ env.dsn }}", plan_scope) == MASK
    assert plan_scope.secrets == []
    run_scope = scope(final=True)
    assert render("{{ env.dsn }}", run_scope) == "postgresql://u:pw@db/app"
    assert run_scope.secrets == ["postgresql://u:pw@db/app"]


def test_lists_cannot_be_interpolated_into_text() -> None:
    with pytest.raises(TemplateError, match="use it as a whole value"):
        render("run {{ env.test_cmd }}", scope())


def test_when_conditions() -> None:
    assert evaluate("params.version", scope()) is True
    assert evaluate("not env.use_deploy", scope()) is True
    assert evaluate("env.name == 'production'", scope()) is True
    assert evaluate("env.name != 'production'", scope()) is False
    assert evaluate("env.pm2", scope()) is False
    assert isinstance(evaluate("live.colour == 'blue'", scope()), Pending)
    assert evaluate("live.colour == 'blue'", scope(steps={"live": {"colour": "blue"}})) is True
    with pytest.raises(TemplateError):
        evaluate("params.version or True", scope())


def test_confirm_texts_never_reveal_secrets_and_show_unset_values_as_unknown() -> None:
    run_scope = scope(final=True, steps={"live": {"colour": "green", "version": None}})
    text = render_text("Restore {{ env.dsn }} from {{ live.colour }} {{ live.version }} with {{ env.test_cmd }}",
                       run_scope)
    assert text == f"Restore {MASK} from green unknown with nginx -t"
    assert run_scope.secrets == []
