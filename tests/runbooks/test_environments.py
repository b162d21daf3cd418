"""The `environments:` configuration section: defaults from the runbook, errors naming the key."""

from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.config.environments import DEFAULT_TAG_PATTERN, dsn_database
from bot.errors import ConfigError
from bot.paths import runbooks_dir
from tests.runbooks.envs import environment


def write_config(tmp_path: Path, environments: dict) -> Path:
    raw = yaml.safe_load((runbooks_dir() / "atl-bot.example.yml").read_text(encoding="utf-8"))
    raw["environments"] = environments
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def minimal(**overrides: object) -> dict:
    env = environment().model_dump(mode="json", exclude={"database_dsn", "redis_url", "database_name"})
    env.pop("two_person_rule")
    env.update(overrides)
    return env


def test_the_example_configuration_has_production_and_staging() -> None:
    config = load_config(runbooks_dir() / "atl-bot.example.yml")
    production, staging = config.environments["production"], config.environments["staging"]
    assert production.two_person_rule is True and staging.two_person_rule is False
    assert production.colours["blue"].port == 3002 and production.colours["green"].port == 3001
    assert production.colours["blue"].app_dir == "/app/audio-tai-loc-blue"
    assert production.database_name == "audio_tai_loc_prod"
    assert production.tag_pattern == DEFAULT_TAG_PATTERN


def test_defaults_follow_the_runbook(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, {"production": minimal(), "qa": minimal()}))
    production = config.environments["production"]
    assert production.two_person_rule is True
    assert config.environments["qa"].two_person_rule is False
    assert (production.monitor_window, production.cleanup_after, production.confirmation_ttl) == (600, 86400, 900)
    assert production.nginx.test_cmd == ["sudo", "nginx", "-t"]
    assert production.migrations.migrate == ["npm", "run", "db:migrate:prod"]


def test_the_two_person_rule_can_be_set_either_way(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, {
        "production": minimal(two_person_rule=False), "staging": minimal(two_person_rule=True),
    }))
    assert config.environments["production"].two_person_rule is False
    assert config.environments["staging"].two_person_rule is True


def test_durations_are_written_as_people_write_them(tmp_path: Path) -> None:
    env = minimal(monitor_window="1h30m", cleanup_after="2d", confirmation_ttl=60, monitor_interval="500ms")
    production = load_config(write_config(tmp_path, {"production": env})).environments["production"]
    assert (production.monitor_window, production.cleanup_after) == (5400, 172800)
    assert (production.confirmation_ttl, production.monitor_interval) == (60, 0.5)


@pytest.mark.parametrize(
    ("environments", "message"),
    [
        ({"Prod": minimal()}, "environments.Prod.[key]: 'Prod' is not an environment name"),
        ({"production": minimal(colours={"blue": minimal()["colours"]["blue"]})},
         "environments.production.colours: expected both colours, blue and green"),
        ({"production": minimal(tag_pattern="^v(")}, "environments.production.tag_pattern: '^v(' is not"),
        ({"production": minimal(monitor_window="ten minutes")},
         "environments.production.monitor_window: 'ten minutes' is not a duration like 30s"),
        ({"production": minimal(backups_dir="backups")},
         "environments.production.backups_dir: 'backups' is not an absolute path"),
        ({"production": minimal(nginx={"site_path": "/x", "reload_cmd": "systemctl reload nginx"})},
         "environments.production.nginx.reload_cmd: Input should be a valid list"),
        ({"production": minimal(health={"public_url": "api.example/health"})},
         "environments.production.health.public_url: 'api.example/health' is not an http(s) URL"),
        ({"production": minimal(colour="blue")}, "environments.production.colour: unknown key"),
    ],
)
def test_bad_environments_stop_startup_naming_the_key(tmp_path: Path, environments: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, environments))
    assert message in str(caught.value)


def test_same_port_for_both_colours_is_refused(tmp_path: Path) -> None:
    colours = minimal()["colours"]
    colours["green"]["port"] = colours["blue"]["port"]
    with pytest.raises(ConfigError, match="blue and green need different ports"):
        load_config(write_config(tmp_path, {"production": minimal(colours=colours)}))


def test_the_database_name_comes_from_the_dsn() -> None:
    assert dsn_database("postgresql://postgres@localhost:5432/audio_tai_loc_prod") == "audio_tai_loc_prod"
    assert dsn_database("host=db dbname=shop user=x") == "shop"
    assert dsn_database("postgresql://localhost") is None
    assert environment().database_name == "shop"
    assert environment(database_name="other").database_name == "other"


def test_template_values_name_the_environment_and_fall_back_to_prometheus_url() -> None:
    values = environment().template_values("production", "http://prom:9090/")
    assert values["name"] == "production"
    assert values["prometheus_url"] == "http://prom:9090"
    assert environment(prometheus_url="http://p:1").template_values("x", "http://prom:9090")["prometheus_url"] == (
        "http://p:1"
    )
