"""BingX WebSocket transport and control frames, shared by the user stream and the market topics.

Every server frame is a GZIP-compressed binary frame, the heartbeat included (:func:`decode_gzip_frame`,
bounded by :func:`adapters.core.parse.inflate.inflate_gzip`). The heartbeat is the text ``Ping`` inside gzip;
answer with the text frame ``Pong`` (:data:`PONG`). A JSON ping ``{"ping": id, "time": t}`` (spot style) is
recognised too and answered with :func:`json_pong`. A frame that is not a known event is classified through
:class:`GenericFrame`: subscription acks/errors become :class:`StreamAck`, unknown events
:class:`UnknownEvent`, garbage :class:`MalformedFrame`. The user-event decoder is in
:mod:`adapters.bingx.schemas_user`, the market one in :mod:`adapters.bingx.schemas_market`.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from adapters.core.parse.inflate import DEFAULT_MAX_FRAME_BYTES, inflate_gzip

GZIP_MAGIC: Final = b"\x1f\x8b"
PING: Final = b"Ping"
PONG: Final = "Pong"


def decode_gzip_frame(
    data: bytes | bytearray | memoryview | str, max_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> bytes:
    """Decompress one WebSocket frame. Non-gzip payloads (text frames, tests) are returned as bytes as-is.

    Raises ``ValueError`` for a frame that starts with the gzip magic but is corrupt, truncated or
    inflates beyond ``max_bytes`` (:func:`adapters.core.parse.inflate.inflate_gzip`).
    """
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    raw = bytes(data)
    if raw[:2] != GZIP_MAGIC:
        return raw
    return inflate_gzip(raw, max_bytes)


RAW_KEPT: Final = 1024  # what a MalformedFrame keeps of a bad frame (for the log line)
# A gzip-compressed "Ping" is ~24 bytes; data frames and acks are larger. Only frames this small are
# decompressed by a heartbeat check, so the hot path pays nothing for it.
MAX_PING_FRAME: Final = 64


def frame_head(frame: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(frame, str):
        return frame[:RAW_KEPT].encode("utf-8", "backslashreplace")
    return bytes(frame[:RAW_KEPT])


def is_ping(payload: bytes) -> bool:
    """The text heartbeat ``Ping`` (after decompression)."""
    return payload.strip() == PING


def json_pong(ping: JsonPing) -> bytes:
    """Answer to a JSON ping: ``{"pong": <id>, "time": <time>}``."""
    return msgspec.json.encode({"pong": ping.ping, "time": ping.time})


# --------------------------------------------------------------------------------------------------
# Control frames
# --------------------------------------------------------------------------------------------------


class PingFrame(msgspec.Struct, gc=False):
    """Text heartbeat ``Ping``: reply :data:`PONG`."""


class JsonPing(msgspec.Struct, gc=False):
    ping: Any = None
    time: Any = None


class StreamAck(msgspec.Struct, gc=False):
    """Subscription ack or error: ``{"id": ..., "code": 0|80014|80403, "msg": ...}``."""

    code: int
    msg: str = ""
    id: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


class UnknownEvent(msgspec.Struct, gc=False):
    event_type: str
    raw: bytes


class MalformedFrame(msgspec.Struct, gc=False):
    error: str
    raw: bytes
    event_type: str | None = None


class GenericFrame(msgspec.Struct, gc=False):
    """Any frame's top-level fields, read without believing them (the classification of a frame
    that is not a known event)."""

    e: Any = None
    code: Any = None
    msg: Any = None
    id: Any = None
    ping: Any = None
    time: Any = None
    dataType: Any = None
    data: msgspec.Raw = msgspec.Raw()


GENERIC_DECODER = msgspec.json.Decoder(GenericFrame)


def ack_or_malformed(g: GenericFrame, raw: bytes, error: str) -> StreamAck | MalformedFrame:
    if isinstance(g.code, int) and not isinstance(g.code, bool):
        ident = g.id if isinstance(g.id, str) else (str(g.id) if g.id is not None else None)
        return StreamAck(code=g.code, msg=str(g.msg or ""), id=ident)
    return MalformedFrame(error=error, raw=raw)
