"""Bounded FIFO set for de-duplicating stream events.

Used for keys such as ``(symbol, trade_id)``: a fill can legitimately arrive twice - on the old and
the new socket during an overlap rotation, or once from the stream and once from a REST backfill.
The set remembers the most recent ``capacity`` keys; the oldest is evicted first (FIFO, not LRU:
a duplicate of an old fill arrives close in time to the original, so re-seeing a key must not
extend its life).  ``add`` and ``in`` are O(1): a ``set`` for membership plus a ``deque`` for order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class FifoDedup(Generic[K]):
    __slots__ = ("_capacity", "_order", "_seen", "contains")

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, was {capacity}")
        self._capacity = capacity
        self._seen: set[K] = set()
        self._order: deque[K] = deque()
        # ``key in self`` as the set's own method: the same answer without a Python-level call
        # (~60 ns less on a hot path that tests every fill).
        self.contains: Callable[[object], bool] = self._seen.__contains__

    @property
    def capacity(self) -> int:
        return self._capacity

    def add(self, key: K) -> bool:
        """Insert ``key``; return True if it was new, False if it is a duplicate."""
        if key in self._seen:
            return False
        if len(self._order) >= self._capacity:
            self._seen.discard(self._order.popleft())
        self._seen.add(key)
        self._order.append(key)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._order)

    def clear(self) -> None:
        self._seen.clear()
        self._order.clear()
