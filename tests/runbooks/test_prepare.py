"""Run-time rendering (what the engine does before each step): concrete values, or a clear error."""

import pytest

from bot.runbooks import params as runbook_params
from bot.runbooks.check import StepParamsError, build_params
from bot.runbooks.loader import Catalogue
from bot.runbooks.prepare import StepRenderError, prepare

LIVE = {"colour": "green", "version": "v0.9.0", "idle_colour": "blue", "servers": ["127.0.0.1:3001"]}


def test_the_switch_renders_from_the_live_step_outputs_into_valid_handler_params(shipped: Catalogue) -> None:
    runbook = shipped.get("deploy-blue-green")
    values = runbook_params.bind(runbook, {"version": "v1.0.0"}, shipped.env_values("production"))
    scope = shipped.scope(runbook, "production", values, steps={"live": LIVE}, final=True)
    step = next(s for s in runbook.steps if s.id == "switch")
    prepared = prepare(step, scope)
    assert prepared.run is True
    assert prepared.confirm_text == "Switch production traffic from green v0.9.0 to blue v1.0.0"
    built = build_params(shipped.registry["nginx.switch"], prepared.params)
    assert built.model_dump() == {
        "site_path": "/etc/nginx/conf.d/audio-tai-loc-upstream.conf",
        "colour": "blue",
        "upstream": "atl_backend",
        "servers": ["127.0.0.1:3002"],
        "version": "v1.0.0",
        "test_cmd": ["sudo", "nginx", "-t"],
        "reload_cmd": ["sudo", "systemctl", "reload", "nginx"],
    }
    start = prepare(next(s for s in runbook.steps if s.id == "start"), scope)
    assert build_params(shipped.registry["docker.run"], start.params).ports == {"3000/tcp": 3002}  # type: ignore[attr-defined]


def test_secrets_are_revealed_to_the_handler_and_collected_for_redaction(shipped: Catalogue) -> None:
    runbook = shipped.get("maint-vacuum")
    scope = shipped.scope(runbook, "production", {}, final=True)
    prepared = prepare(runbook.steps[0], scope)
    assert prepared.params["dsn"] == "postgresql://postgres@localhost:5432/audio_tai_loc_prod"
    assert scope.secrets == ["postgresql://postgres@localhost:5432/audio_tai_loc_prod"]


def test_a_missing_output_stops_the_step_with_a_reason(shipped: Catalogue) -> None:
    runbook = shipped.get("deploy-blue-green")
    scope = shipped.scope(runbook, "production", {"version": "v1.0.0"}, steps={"live": {"colour": "green"}},
                          final=True)
    with pytest.raises(StepRenderError, match=r"step fetch: .*has no 'idle_colour'"):
        prepare(next(s for s in runbook.steps if s.id == "fetch"), scope)


def test_a_bad_output_is_refused_by_the_handler_model(shipped: Catalogue) -> None:
    runbook = shipped.get("deploy-blue-green")
    scope = shipped.scope(runbook, "production", {"version": "v1.0.0"}, steps={"live": LIVE}, final=True)
    step = next(s for s in runbook.steps if s.id == "switch")
    params = prepare(step, scope).params
    with pytest.raises(StepParamsError, match=r"nginx.switch: params.colour: Input should be 'blue' or 'green'"):
        build_params(shipped.registry["nginx.switch"], {**params, "colour": "purple"})
