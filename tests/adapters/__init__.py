"""Adapter tests: one adapter against its real server (or the fake Discord) on 127.0.0.1."""
