"""Flood control per person: at most `limit` questions (or button presses) a minute each.

The first one over the limit gets a polite "slow down"; the rest are ignored in silence until the oldest
falls out of the window. Other people are never slowed: each has a window of their own.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first refusal in a window: say so once
    SILENT = "silent"  # refused again: say nothing


class FloodGate:
    """A sliding window of `window` seconds per user id; handlers run on one event loop, so no lock is needed."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[int, deque[float]] = defaultdict(deque)
        self._warned: set[int] = set()

    def check(self, user_id: int) -> Verdict:
        """Count one event for the user and say whether to serve it."""
        if self.limit <= 0:
            return Verdict.ALLOW
        now = self.clock()
        events = self._events[user_id]
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            self._warned.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._warned:
            return Verdict.SILENT
        self._warned.add(user_id)
        return Verdict.WARN
