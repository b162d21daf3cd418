"""Handler tests run against the real local stack (tests/stack)."""

from tests.stack.fixtures import *  # noqa: F403
