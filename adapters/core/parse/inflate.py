"""Bounded gzip inflation for compressed WebSocket frames (BingX compresses every frame).

A compressed frame is a promise about its size that the sender makes: 65 KB of zeros inflate to
64 MiB. Frames are inflated with an explicit output limit (:data:`DEFAULT_MAX_FRAME_BYTES`, 4 MiB:
the largest legitimate frame — a full-depth book push — is well under 100 KB); beyond it, or when
the data is not complete, valid gzip (trailing bytes included), the frame is rejected with
``ValueError`` and the caller treats it as malformed. Concatenated gzip members are accepted (the
limit is on their total).
"""

from __future__ import annotations

import zlib
from typing import Final

DEFAULT_MAX_FRAME_BYTES: Final = 4 * 1024 * 1024
GZIP_MAGIC: Final = b"\x1f\x8b"
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS


class FrameTooLarge(ValueError):
    """The frame inflates beyond the configured maximum."""


def inflate_gzip(data: bytes, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    """The decompressed payload of one gzip frame, at most ``max_bytes`` long; ``ValueError`` for a
    corrupt or truncated frame, :class:`FrameTooLarge` for one that inflates beyond the limit."""
    # One complete member within the limit (every venue frame): no list, no join.
    d = zlib.decompressobj(_GZIP_WBITS)
    try:
        chunk = d.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip frame: {exc}") from None
    if d.eof and not d.unused_data and not d.unconsumed_tail and len(chunk) <= max_bytes:
        return chunk
    out: list[bytes] = []
    total = 0
    rest = data
    while True:
        d = zlib.decompressobj(_GZIP_WBITS)
        try:
            chunk = d.decompress(rest, max_bytes - total + 1)
        except zlib.error as exc:
            raise ValueError(f"corrupt gzip frame: {exc}") from None
        total += len(chunk)
        if total > max_bytes or d.unconsumed_tail:
            raise FrameTooLarge(f"gzip frame inflates beyond {max_bytes} bytes")
        out.append(chunk)
        if not d.eof:
            raise ValueError("truncated gzip frame")
        rest = d.unused_data
        if not rest:
            return b"".join(out)
        if not rest.startswith(GZIP_MAGIC):
            # Not ignored: a frame with bytes after its data is not the frame the venue sent (a
            # heartbeat with garbage appended must not be answered as one).
            raise ValueError("trailing bytes after the gzip data")
