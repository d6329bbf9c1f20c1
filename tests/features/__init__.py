"""Feature tests: the bot in memory (tests/harness.py) on SQLite, and on PostgreSQL as well in
the modules conftest.BOTH_DATABASES names."""
