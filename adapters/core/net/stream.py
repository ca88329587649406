"""Stream vocabulary shared by the connection, dispatcher and recovery layers.

A *stream* is anything that delivers raw frames (``bytes`` or ``str``) into an unbounded
``asyncio.Queue`` owned by the stream.  Besides frames, the queue carries a small set of
*signals* so the consumer learns about transport events **in order with the frames**:

* :class:`Reconnected` - an auto-reconnecting stream came back; frames may have been lost
  during the outage, so the owner usually re-syncs (e.g. fires a recovery trigger).
* :class:`StreamEnded` - always the last item.  ``kind`` says *why* it ended, so the owner can
  tell a deliberate close (no action) from a server close such as the 24-hour disconnect, an
  abrupt drop, a stall or a missed pong (all of which mean "re-sync").

Keeping this module free of aiohttp lets the dispatcher and the recovery driver be tested with
plain in-memory fakes.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Protocol, TypeAlias


class CloseKind(enum.Enum):
    """Why a stream (or one of its connections) ended."""

    OWNER = "owner"  # closed deliberately by its owner: not an incident
    SERVER_CLOSE = "server_close"  # server sent a close frame (e.g. 1000/1001 on the 24 h limit)
    ABORTED = "aborted"  # transport dropped without a close frame, or a protocol error
    STALLED = "stalled"  # no frame and no pong within the stall deadline
    PONG_TIMEOUT = "pong_timeout"  # a ping went unanswered past its deadline
    CONNECT_FAILED = "connect_failed"  # reconnecting gave up (max attempts reached)

    @property
    def is_incident(self) -> bool:
        """True when the end was not requested by the owner (data may have been missed)."""
        return self is not CloseKind.OWNER


@dataclass(frozen=True, slots=True)
class Reconnected:
    """An auto-reconnecting stream re-established its transport."""

    cause: CloseKind
    close_code: int | None
    attempts: int  # connect attempts it took (1 = first retry succeeded)
    downtime: float  # seconds between losing the old socket and opening the new one


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """End-of-stream marker: always the final item in a stream's queue."""

    kind: CloseKind
    close_code: int | None = None
    detail: str = ""


Frame: TypeAlias = bytes | str
StreamSignal: TypeAlias = Reconnected | StreamEnded
StreamItem: TypeAlias = Frame | StreamSignal


class StreamHandle(Protocol):
    """A connected stream whose frames are consumed from :attr:`queue`.

    Contract (relied on by the recovery driver):

    * ``queue`` is unbounded and owned by the stream; after :meth:`close` returns, every frame
      received before the close is still in the queue, followed by exactly one
      :class:`StreamEnded`.  This is what lets a dispatcher *drain* a closed stream.
    * :meth:`wait_healthy` returns once the stream has proven it is alive (a frame or a pong
      arrived); callers bound it with ``asyncio.timeout``.  Used by overlap rotation.
    * :meth:`close` is idempotent, never raises for transport errors, and is cancellation-safe:
      even when the caller is cancelled, resources are released and the end marker is queued.
    """

    @property
    def queue(self) -> asyncio.Queue[StreamItem]: ...

    async def wait_healthy(self) -> None: ...

    async def close(self) -> None: ...
