"""Exponential backoff with an optional cap on attempts.

One :class:`Backoff` instance belongs to one retry loop.  It only computes delays; the caller
sleeps (usually through an injectable ``SleepFn`` so tests run on a fake clock).

Reset rules (the caller decides *when* to call :meth:`reset`):

* Recovery driver: a fresh ``Backoff`` per recovery run, so every run starts at the initial delay;
  within a run delays grow 1 s, 2 s, 4 s ... capped at 30 s, forever.
* Auto-reconnecting sockets: reset only after a connection has stayed healthy for a while
  (``WsConfig.backoff_reset_after``).  Resetting on a bare successful connect would let a server
  that accepts and immediately drops us be hammered at the initial delay forever.
* WS trading (1 s doubling to 60 s, at most 10 attempts): ``max_attempts=10``; once exhausted,
  :meth:`next_delay` raises :class:`BackoffExhausted` and the caller reports the socket dead.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeAlias

SleepFn: TypeAlias = Callable[[float], Awaitable[None]]


class BackoffExhausted(Exception):
    """Raised by :meth:`Backoff.next_delay` once ``max_attempts`` delays were handed out."""


class Backoff:
    """Delay sequence ``initial * factor**n`` capped at ``cap``, with optional jitter.

    ``jitter`` is a fraction in ``[0, 1]``: each delay is scaled by a uniform factor in
    ``[1 - jitter, 1]`` ("equal-ish jitter"), so jitter never pushes a delay above ``cap``
    and spreads reconnect storms from many clients.
    """

    __slots__ = ("_attempts", "_cap", "_factor", "_initial", "_jitter", "_max_attempts", "_rng")

    def __init__(
        self,
        initial: float,
        factor: float = 2.0,
        cap: float = 30.0,
        jitter: float = 0.0,
        rng: random.Random | None = None,
        max_attempts: int | None = None,
    ) -> None:
        if initial <= 0 or factor < 1.0 or cap < initial:
            raise ValueError(f"invalid backoff: initial={initial} factor={factor} cap={cap}")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter must be within [0, 1], was {jitter}")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, was {max_attempts}")
        self._initial = initial
        self._factor = factor
        self._cap = cap
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._max_attempts = max_attempts
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since construction or the last :meth:`reset`."""
        return self._attempts

    @property
    def max_attempts(self) -> int | None:
        return self._max_attempts

    @property
    def exhausted(self) -> bool:
        return self._max_attempts is not None and self._attempts >= self._max_attempts

    def next_delay(self) -> float:
        """Return the next delay in seconds; raises :class:`BackoffExhausted` past ``max_attempts``."""
        if self.exhausted:
            raise BackoffExhausted(f"gave up after {self._attempts} attempts")
        # min() before the power would overflow for very long outages: clamp the exponent.
        exponent = min(self._attempts, 64)
        delay = min(self._initial * self._factor**exponent, self._cap)
        self._attempts += 1
        if self._jitter:
            delay *= 1.0 - self._jitter * self._rng.random()
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (call after a healthy period / successful run)."""
        self._attempts = 0
