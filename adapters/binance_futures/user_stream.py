"""Binance's side of the user-data stream: the venue operations the core recovery driver and
listen-key keeper call (``RecoveryVenue`` and ``ListenKeyOps``).

Thin by design — the order of operations, retries, draining and keepalive scheduling live once in
``adapters.core``; here are only Binance's endpoints and its private stream URL. The listen key's
transport (REST, or the WS API's ``userDataStream.*``) is plugged in as ``keys``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Unpack

from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.listen_keys import RestListenKeys
from adapters.core.userstream.listen_key import ListenKeyEndpoints
from adapters.core.userstream.stream_ops import StreamOpsArgs, VenueStreamOps

# The user-data events the client acts on, asked for with ``events=`` on the private route. The
# filter is an allow list: an event not named is never pushed, ``listenKeyExpired`` included, so it
# is named. TRADE_LITE is left out: it repeats ORDER_TRADE_UPDATE's fill without the commission and
# the handler ignores it (user_events.py).
USER_STREAM_EVENTS: Final = (
    "ORDER_TRADE_UPDATE",
    "ACCOUNT_UPDATE",
    "ALGO_UPDATE",
    "ACCOUNT_CONFIG_UPDATE",
    "MARGIN_CALL",
    "listenKeyExpired",
)


def private_stream_url(ws_base_url: str, listen_key: str, events: Sequence[str] = USER_STREAM_EVENTS) -> str:
    """The USD-M private route since Binance's 2026 URL split (``/ws/<key>`` on the root is retired):
    ``<base>/private/ws?listenKey=<key>&events=A/B`` (Binance's "Important WebSocket Change Notice")."""
    url = f"{ws_base_url.rstrip('/')}/private/ws?listenKey={listen_key}"
    return f"{url}&events={'/'.join(events)}" if events else url


class BinanceUserStreamOps(VenueStreamOps[BinanceFuturesHttpClient]):
    socket_name = "binance-user"

    def __init__(
        self,
        *,
        keys: ListenKeyEndpoints | None = None,
        **common: Unpack[StreamOpsArgs[BinanceFuturesHttpClient]],
    ) -> None:
        """``keys``: where the listen key comes from (default REST; ``WsApiListenKeys`` for
        ``user_stream_via_ws_api``, see ``adapters.binance_futures.listen_keys``)."""
        super().__init__(**common)
        self.keys: ListenKeyEndpoints = keys or RestListenKeys(self._http)

    def stream_url(self, listen_key: str) -> str:
        return private_stream_url(self._ws_base_url, listen_key)

    # --- RecoveryVenue -----------------------------------------------------------------------
    async def create_listen_key(self) -> str:
        return await self.keys.create()

    # --- ListenKeyOps ------------------------------------------------------------------------
    async def keepalive(self, key: str) -> None:
        await self.keys.keepalive(key)

    async def delete(self, key: str) -> None:
        await self.keys.delete(key)
