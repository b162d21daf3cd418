"""`plan`: every step with its params filled in, dangerous ones marked; bad input refused; nothing runs."""

import json

import pytest

from bot.runbooks.loader import Catalogue, load_runbooks
from bot.runbooks.plan import Plan, PlanError, build_plan
from handlers.registry import load_all
from tests.runbooks.envs import environment


def steps_of(plan: Plan) -> dict[str, object]:
    return {step.id: step for step in plan.steps}


def test_blue_green_plan_for_v1_0_0_fills_in_every_step(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "deploy-blue-green", {"version": "v1.0.0"}, "production")
    assert [s.id for s in plan.steps] == [
        "live", "fetch", "verify_tag", "checkout", "build", "tag", "env_file", "start", "migrate", "health",
        "smoke", "smoke_script", "switch", "verify", "logs", "monitor", "cleanup", "remove_old", "prune",
    ]
    assert "{{" not in json.dumps([s.params for s in plan.steps])
    assert all(s.will_run for s in plan.steps)
    steps = {s.id: s for s in plan.steps}
    assert steps["live"].params["site_path"] == "/etc/nginx/conf.d/audio-tai-loc-upstream.conf"
    assert steps["fetch"].params["repo_dir"] == "<from step live: /app/audio-tai-loc-blue or /app/audio-tai-loc-green>"
    assert steps["build"].params["tag"] == "audio-tai-loc-backend:v1.0.0"
    assert steps["checkout"].params["ref"] == "refs/tags/v1.0.0"
    assert steps["tag"].params["tag"] == "audio-tai-loc-backend:latest-<from step live: idle_colour>"
    assert steps["migrate"].params["argv"] == ["npm", "run", "db:migrate:prod"]
    assert steps["health"].params["url"] == "http://127.0.0.1:<from step live: 3002 or 3001>/health/detailed"
    assert steps["smoke_script"].params["argv"] == ["./scripts/smoke-test.sh", "<from step live: idle_colour>"]
    assert steps["verify"].params["url"] == "https://api.audiotailoc.com/health"
    assert steps["verify"].on_failure == "offer rollback-immediate"
    assert steps["monitor"].params["duration_s"] == 600.0
    assert [rule["name"] for rule in steps["monitor"].params["rules"]] == [
        "application.response_time_p95", "application.error_rate",
    ]
    assert steps["cleanup"].delay_s == 86400.0


def test_the_switch_is_dangerous_and_says_exactly_what_will_happen(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "deploy-blue-green", {"version": "v1.0.0"}, "production")
    assert [s.id for s in plan.dangerous_steps] == ["switch", "cleanup"]
    switch = next(s for s in plan.steps if s.id == "switch")
    assert switch.handler == "nginx.switch"
    assert switch.confirm_text == (
        "Switch production traffic from <from step live: colour> <from step live: version> to "
        "<from step live: idle_colour> v1.0.0"
    )
    assert switch.params["version"] == "v1.0.0"
    assert switch.params["test_cmd"] == ["sudo", "nginx", "-t"]
    assert switch.params["reload_cmd"] == ["sudo", "systemctl", "reload", "nginx"]
    assert switch.params["servers"] == ["127.0.0.1:<from step live: 3002 or 3001>"]
    assert plan.two_person_rule is True
    assert plan.confirmation_ttl_s == 900.0


def test_staging_uses_its_own_settings_and_no_two_person_rule(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "deploy-blue-green", {"version": "v1.2.3-rc.1"}, "staging")
    steps = {s.id: s for s in plan.steps}
    assert plan.two_person_rule is False
    assert steps["health"].params["url"] == "http://127.0.0.1:<from step live: 4002 or 4001>/health/detailed"
    assert steps["monitor"].params["duration_s"] == 300.0
    assert steps["switch"].confirm_text.startswith("Switch staging traffic")


@pytest.mark.parametrize("version", ["v1.0", "1.0.0", "v1.0.0; rm -rf /", "v1.0.0\n", "latest", "v1.0.0 v2.0.0"])
def test_bad_versions_are_refused_with_the_correct_form(shipped: Catalogue, version: str) -> None:
    with pytest.raises(PlanError) as caught:
        build_plan(shipped, "deploy-blue-green", {"version": version}, "production")
    message = str(caught.value)
    assert f"version: {version!r} does not match" in message
    assert "e.g. v1.0.0" in message
    assert "Correct form: atl-bot runbooks plan deploy-blue-green --var version=v1.0.0" in message


def test_a_missing_or_unknown_parameter_is_refused(shipped: Catalogue) -> None:
    with pytest.raises(PlanError, match="version is required"):
        build_plan(shipped, "deploy-blue-green", {}, "production")
    with pytest.raises(PlanError, match=r"deploy-blue-green has no parameter 'tag' \(it takes: version\)"):
        build_plan(shipped, "deploy-blue-green", {"version": "v1.0.0", "tag": "x"}, "production")


def test_unknown_environments_and_runbooks_are_refused(shipped: Catalogue) -> None:
    with pytest.raises(PlanError, match=r"'prod' is not configured \(configured: production, staging\)"):
        build_plan(shipped, "deploy-blue-green", {"version": "v1.0.0"}, "prod")
    with pytest.raises(PlanError, match="no runbook 'deploy-red'"):
        build_plan(shipped, "deploy-red", {"version": "v1.0.0"}, "production")


@pytest.mark.parametrize(
    "name", ["2024-bad", "20240101120000-Bad Name", "20240101120000-../../etc", "20240101120000", "x; DROP TABLE"]
)
def test_bad_migration_names_are_refused(shipped: Catalogue, name: str) -> None:
    with pytest.raises(PlanError, match=r"e\.g\. 20240101120000-migration-name"):
        build_plan(shipped, "rollback-database", {"to": name}, "production")


def test_database_rollback_to_a_named_migration(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "rollback-database", {"to": "20240101120000-migration-name"}, "production")
    steps = {s.id: s for s in plan.steps}
    assert steps["rollback_last"].will_run is False
    assert steps["rollback_to"].will_run is True
    assert steps["rollback_to"].params["argv"] == [
        "npm", "run", "db:migrate:rollback", "--", "--to=20240101120000-migration-name",
    ]
    assert [s.id for s in plan.dangerous_steps] == ["rollback_to"]
    last = build_plan(shipped, "rollback-database", {}, "production")
    assert [s.id for s in last.dangerous_steps] == ["rollback_last"]


def test_pm2_runs_stop_start_save_unless_pm2_deploy_is_configured(shipped: Catalogue) -> None:
    plan = build_plan(shipped, "deploy-pm2", {"version": "v1.0.0"}, "production")
    ran = [s.id for s in plan.steps if s.will_run]
    assert ran == ["fetch", "verify_tag", "checkout", "build", "stop", "start", "save", "verify"]
    start = next(s for s in plan.steps if s.id == "start")
    assert start.params == {"ecosystem": "/app/audio-tai-loc/ecosystem.config.js", "env": "production",
                            "name": "audio-tai-loc"}
    pm2 = {"app_dir": "/srv/app", "ecosystem": "/srv/app/ecosystem.config.js", "use_deploy": True}
    catalogue = load_runbooks(registry=load_all(), environments={"production": environment(pm2=pm2)})
    plan = build_plan(catalogue, "deploy-pm2", {"version": "v1.0.0"}, "production")
    assert [s.id for s in plan.steps if s.will_run] == ["fetch", "verify_tag", "checkout", "build", "pm2_deploy",
                                                         "verify"]


def test_an_environment_without_pm2_cannot_plan_a_pm2_deploy_but_the_runbook_stays_valid() -> None:
    catalogue = load_runbooks(registry=load_all(), environments={"production": environment()})
    assert catalogue.problems == []
    why = "step fetch: env.pm2 is not set, so it has no 'app_dir'"
    assert catalogue.unavailable == {"deploy-pm2": {"production": why}}
    with pytest.raises(PlanError) as caught:
        build_plan(catalogue, "deploy-pm2", {"version": "v1.0.0"}, "production")
    assert str(caught.value) == (
        "deploy-pm2 cannot run in production: step fetch: env.pm2 is not set, so it has no 'app_dir' "
        "(configure it under environments.production)"
    )


def test_a_setting_needed_only_by_an_optional_step_is_checked_when_the_step_is_asked_for() -> None:
    catalogue = load_runbooks(registry=load_all(), environments={"production": environment(database_dsn=None)})
    build_plan(catalogue, "rollback-full", {"version": "v0.9.0"}, "production")  # restore skipped: fine
    with pytest.raises(PlanError, match=r"step restore: env.database_dsn is not set \(configure it under"):
        build_plan(catalogue, "rollback-full", {"version": "v0.9.0", "restore_database": "yes"}, "production")


def test_full_rollback_restores_the_database_only_when_asked_and_never_shows_the_password() -> None:
    catalogue = load_runbooks(registry=load_all(), environments={"production": environment()})
    plan = build_plan(catalogue, "rollback-full", {"version": "v0.9.0"}, "production")
    steps = {s.id: s for s in plan.steps}
    assert steps["restore"].will_run is False
    assert steps["build"].params["tag"] == "audio-tai-loc-backend:rollback"
    plan = build_plan(catalogue, "rollback-full", {"version": "v0.9.0", "restore_database": "true"}, "production")
    restore = {s.id: s for s in plan.steps}["restore"]
    assert restore.will_run is True
    assert restore.params["dump_path"] == "/backups/backup_v0.9.0.dump"
    assert restore.confirm_text is not None and "database shop from /backups/backup_v0.9.0.dump" in restore.confirm_text
    flush = {s.id: s for s in plan.steps}["flush_redis"]
    assert flush.params["url"] == "**********"
    assert "s3cret-pw" not in plan.model_dump_json() and "r3dis-pw" not in plan.model_dump_json()
    with pytest.raises(PlanError, match="restore_database: 'maybe' is not true or false"):
        build_plan(catalogue, "rollback-full", {"version": "v0.9.0", "restore_database": "maybe"}, "production")


def test_maintenance_plans(shipped: Catalogue) -> None:
    reindex = build_plan(shipped, "maint-reindex", {}, "production").steps[0]
    assert reindex.params["statement"] == "REINDEX DATABASE audio_tai_loc_prod"
    assert reindex.dangerous and reindex.confirm_text is not None
    cert = build_plan(shipped, "maint-cert-check", {}, "production").steps[0]
    assert cert.params["argv"] == [
        "openssl", "x509", "-in", "/etc/letsencrypt/live/audiotailoc.com/cert.pem", "-noout", "-enddate",
    ]
