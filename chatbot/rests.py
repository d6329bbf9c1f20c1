"""Jobs that rest between ticks: a job that looked at everything and found nothing due before a
time (``Context.quiet_until``) is not run again until then, unless something happened meanwhile.

Why: most ticks find nothing to do (a tick every 30 s, work a few times a day), yet every job
asked the database at every tick, a handful of queries each. A job knows from the rows it just
read when its next duty can fall, as long as nobody changes them. What can change them is a
person (a command, an answer, somebody leaving), a job's messages, or another process sharing
the database; so every job wakes when this engine handles an inbound event, when a job records a
message, when a platform refuses somebody, when the clock goes back, and when the newest
recorded message is not the one of the last tick (another process answered somebody). A
restart starts with every job awake, so a downtime is caught up as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Rests:
    """Which job rests until when (in memory: each process decides for itself)."""

    #: job name -> (when the rest began, when it ends)
    _until: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    #: the newest recorded message when the rests were taken (see ``note_last_recorded``)
    _last_recorded: int | None = None

    def resting(self, name: str, now: datetime) -> bool:
        """Is the job resting at ``now``? (A clock set back to before the rest began wakes it.)"""
        rest = self._until.get(name)
        return rest is not None and rest[0] <= now < rest[1]

    def rest(self, name: str, now: datetime, until: datetime | None) -> None:
        """After a run: rest until ``until`` if the job said so, else stay awake."""
        if until is not None and until > now:
            self._until[name] = (now, until)
        else:
            self._until.pop(name, None)

    def wake_all(self) -> None:
        """Something a job reads may have changed: every job looks again at its next tick."""
        self._until.clear()

    def note_last_recorded(self, last: int | None) -> None:
        """The newest message id at a tick; a new one since the last tick wakes every job."""
        if last != self._last_recorded:
            self.wake_all()
            self._last_recorded = last
