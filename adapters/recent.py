"""A bounded memory of recent keys, shared by the adapters that must recognise their own traffic.

Matrix remembers the event ids of its own messages (a reaction answers one of them) and where an
inbound event was said; Discord remembers the nonces the gateway echoed and the ids its sends got
back. Both only ever need the recent ones, so the oldest are forgotten first and memory stays flat.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class Recent(OrderedDict):
    """A dict of at most ``size`` keys; ``put`` refreshes a key and forgets the oldest ones."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any = True) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
