"""Unit tests: pure functions and data, with no database, no bot and no server."""
