"""How counts read in a reply: one helper, so nobody reads "1 sessions"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 host``, ``2 hosts``; ``many`` for a word without a plain -s (person, people)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"
