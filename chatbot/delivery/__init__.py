"""Delivery: what happens to a message between the commit that recorded it and the platform.

- ``recording``: a unit of work's outbound messages written to the outbox with its change
  (the engine calls it once per event or job batch).
- ``records``: turning a handler's outbound events into outbox rows (recipient, priority) and
  back, choosing the identity a DM goes to, and what a failed send means for the row.
- ``fairness``: the order a platform's messages go out in (each recipient in order; recipients
  take turns; answers before bulk work).
- ``sender``: one background sender per platform that claims, sends and marks.

The engine only records and hands over; it never waits for a platform.
"""
