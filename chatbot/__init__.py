"""Mentorship chat bot: the platform-free core engine and its features."""

__version__ = "0.1.0"
