"""BingX's side of the user-data stream: the venue operations the core recovery driver and listen-key
keeper call (``RecoveryVenue`` and ``ListenKeyOps``), plus the gzip ``Ping``/``Pong`` heartbeat.

Thin by design: ordering, retries with backoff, overlap rotation (new socket proven healthy before
the old closes), draining and keepalive scheduling live once in ``adapters.core`` and are shared with
Binance. Here are only BingX's endpoints, its URL (``<ws>?listenKey=<key>``) and its framing:

* every server frame is gzip-compressed binary, the heartbeat included: the connection answers the
  text ``Ping`` with ``Pong`` itself (``server_ping_reply``) so heartbeats never reach the dispatcher;
  the handler decompresses everything else;
* ``POST`` mints a **new** key each time (earlier keys stay valid until they expire): after a
  rotation the previous key is deleted (``retire_listen_key``), so keys do not pile up and the old
  key's events stop once the new socket carries them.
"""

from __future__ import annotations

from typing import Unpack

from adapters.bingx.http import BingxHttpClient
from adapters.bingx.stream_frames import MAX_PING_FRAME, PONG, decode_gzip_frame, is_ping
from adapters.core.net.stream import Frame
from adapters.core.userstream.stream_ops import StreamOpsArgs, VenueStreamOps


def user_stream_url(ws_base_url: str, listen_key: str) -> str:
    return f"{ws_base_url.rstrip('/')}?listenKey={listen_key}"


def ping_reply(frame: Frame) -> Frame | None:
    """``server_ping_reply`` for BingX: ``Pong`` for the (gzip) text ``Ping``, else None."""
    if len(frame) > MAX_PING_FRAME:
        return None
    try:  # never raises: a corrupt heartbeat-sized frame must not drop the socket
        payload = decode_gzip_frame(frame)
    except Exception:
        return None
    return PONG if is_ping(payload) else None


class BingxUserStreamOps(VenueStreamOps[BingxHttpClient]):
    socket_name = "bingx-user"

    def __init__(self, **common: Unpack[StreamOpsArgs[BingxHttpClient]]) -> None:
        super().__init__(**common)
        self.keys_created = 0
        self.keys_retired = 0

    def stream_url(self, listen_key: str) -> str:
        return user_stream_url(self._ws_base_url, listen_key)

    # --- RecoveryVenue -----------------------------------------------------------------------
    async def create_listen_key(self) -> str:
        key = await self._http.create_listen_key()
        self.keys_created += 1
        return key

    async def retire_listen_key(self, key: str) -> None:
        """The key a rotation replaced: BingX keeps it alive for up to 60 min otherwise."""
        await self._http.close_listen_key(key)
        self.keys_retired += 1

    # --- ListenKeyOps ------------------------------------------------------------------------
    async def keepalive(self, key: str) -> None:
        await self._http.keepalive_listen_key(key)

    async def delete(self, key: str) -> None:
        await self._http.close_listen_key(key)
