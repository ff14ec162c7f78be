"""Shared fixtures live in tests/fixtures/*, one file per domain, loaded here as plugins."""

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.sandbox", "tests.fixtures.chat"]
