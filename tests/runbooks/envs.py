"""Environment configurations for tests, built through the real config models."""

from typing import Any

from bot.config.environments import EnvironmentConfig


def environment(**overrides: Any) -> EnvironmentConfig:
    base: dict[str, Any] = {
        "colours": {
            "blue": {"app_dir": "/srv/app-blue", "port": 3002, "container": "app-blue"},
            "green": {"app_dir": "/srv/app-green", "port": 3001, "container": "app-green"},
        },
        "nginx": {"site_path": "/etc/nginx/conf.d/upstream.conf"},
        "health": {"public_url": "https://api.example.test/health"},
        "database_dsn": "postgresql://deploy:s3cret-pw@db.example.test:5432/shop",
        "redis_url": "redis://:r3dis-pw@cache.example.test:6379/0",
    }
    base.update(overrides)
    return EnvironmentConfig.model_validate(base)
