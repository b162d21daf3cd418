"""The real local stack's fixtures, for tests under tests/stack/ (other folders import tests.stack.fixtures)."""

from tests.stack.fixtures import *  # noqa: F403
