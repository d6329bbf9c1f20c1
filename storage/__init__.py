"""Persistence: SQLModel tables, repositories and migrations."""
