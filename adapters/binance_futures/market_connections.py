"""Binance USD-M market-stream connections: the venue-neutral pool of
:mod:`adapters.core.net.stream_pool` with Binance's combined-stream dialect.

* **Combined streams.** Every socket is ``<ws base><path>`` (``/stream`` by default) and carries
  streams added with ``SUBSCRIBE`` requests (up to :data:`MAX_PARAMS_PER_REQUEST` per request);
  frames arrive wrapped as ``{"stream", "data"}`` so one socket can carry any mix of streams.
* **Acknowledged subscriptions.** The venue answers ``{"result": null, "id": n}`` (or an error
  with the request id); the pool waits for it.
* Capacity, throttling, reference counting and resubscription on reconnect are the core pool's
  (see :mod:`adapters.core.net.stream_pool`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from adapters.binance_futures.schemas_market import (
    ControlResponse,
    MalformedFrame,
    StreamError,
    SubscriptionError,
    UnknownEvent,
    decode_market_frame,
    decode_stream_event,
)
from adapters.core.net.stream import Frame
from adapters.core.net.stream_pool import (
    Ack,
    MarketSink,
    StreamConnection,
    SubscribeFailed,
)
from adapters.core.net.stream_pool import MarketStreamPool as _CorePool
from adapters.core.net.ws_connection import WsConfig

__all__ = [
    "MAX_PARAMS_PER_REQUEST",
    "BinanceStreamCodec",
    "MarketSink",
    "MarketStreamPool",
    "StreamConnection",
    "SubscribeFailed",
]

_log = logging.getLogger(__name__)

MAX_PARAMS_PER_REQUEST = 200


class BinanceStreamCodec:
    """``{"method", "params", "id"}`` requests; combined-stream frames and id-keyed answers."""

    max_streams_per_request = MAX_PARAMS_PER_REQUEST

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self.log = logger or _log

    def encode(self, method: str, streams: Sequence[str], req_id: int) -> Frame:
        return msgspec.json.encode({"method": method, "params": list(streams), "id": req_id}).decode()

    def decode(self, frame: Frame) -> tuple[str | None, Any] | Ack | None:
        fast = decode_stream_event(frame)  # a known event on a combined stream: the common case
        if fast is not None:
            return fast
        decoded = decode_market_frame(frame)
        event = decoded.event
        if isinstance(event, ControlResponse):
            return Ack(event.id if isinstance(event.id, int) else None)
        if isinstance(event, SubscriptionError):
            return Ack(event.id if isinstance(event.id, int) else None, f"code={event.code} msg={event.msg}")
        if isinstance(event, StreamError):
            self.log.warning("%s: %r", self.name, event)
            return None
        if isinstance(event, MalformedFrame):
            # Passed on: the sink decides whether a book it maintains may have lost a diff.
            self.log.warning("%s: %r", self.name, event)
            return decoded.stream, event
        if isinstance(event, UnknownEvent):
            self.log.debug("%s: unknown event %s", self.name, event.event_type)
            return None
        return decoded.stream, event


class MarketStreamPool(_CorePool):
    """The core pool speaking Binance's combined-stream protocol."""

    def __init__(
        self,
        base_url: str,
        sink: MarketSink,
        *,
        capacity: int = 200,
        path_for: Callable[[str], str] = lambda stream: "/stream",
        ws_config: WsConfig | None = None,
        max_messages_per_sec: int = 8,
        request_timeout: float = 10.0,
        name: str = "binance-market",
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(
            base_url,
            sink,
            BinanceStreamCodec(name, logger),
            capacity=capacity,
            path_for=path_for,
            ws_config=ws_config,
            max_messages_per_sec=max_messages_per_sec,
            request_timeout=request_timeout,
            name=name,
            logger=logger,
        )
