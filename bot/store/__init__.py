"""The only place that talks SQL: pool, migrations, and one module per table family."""

from bot.store.db import Store

__all__ = ["Store"]
