"""Where a Binance order command goes: the WS trading API while it is READY, REST otherwise.

Regular orders are placed, amended, cancelled and queried over the trading socket
(:class:`~adapters.binance_futures.ws_trading.BinanceWsTradingClient`, ``use_ws_trading``) while it
is READY, and over REST otherwise; conditional orders go to the algo service the same way. A request
the socket refused before writing it (:class:`WsNotSent`) goes over REST at once: it provably never
reached the venue. Outcomes are classified alike on both paths, so an ambiguous one is resolved by
query and never re-sent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.binance_futures.errors import BinanceAmbiguous, BinanceTransportError
from adapters.binance_futures.http import BinanceFuturesHttpClient
from adapters.binance_futures.schemas_rest import AlgoOrder
from adapters.binance_futures.schemas_rest import Order as VenueOrder
from adapters.binance_futures.ws_trading import BinanceWsTradingClient, WsNotSent

T = TypeVar("T")


class OrderRouter:
    """The order requests of one execution client, each on the trading socket or REST."""

    def __init__(
        self,
        http: BinanceFuturesHttpClient,
        ws_trading: Callable[[], BinanceWsTradingClient | None],
        *,
        via_ws: bool,
        logger: logging.Logger,
    ) -> None:
        self._http = http
        # The owner's trading socket, read at each request (the owner holds it, and may have none).
        self._ws_trading = ws_trading
        # Routing switch (benchmarks flip it to compare WS with REST within one run).
        self.via_ws = via_ws
        self._pylog = logger

    def _ws(self) -> BinanceWsTradingClient | None:
        ws = self._ws_trading()
        if ws is None or not self.via_ws or not ws.is_ready:
            return None
        return ws

    async def _routed(
        self,
        what: str,
        on_ws: Callable[[BinanceWsTradingClient], Awaitable[T]],
        on_rest: Callable[[], Awaitable[T]],
        rest_after: tuple[type[Exception], ...] = (WsNotSent,),
    ) -> T:
        """``on_ws`` on the trading socket when READY, else ``on_rest``; outcomes are classified
        alike (an ambiguous one is resolved by query, never re-sent). A request the socket did not
        send goes over REST at once (``rest_after``: also a failed query, which is idempotent)."""
        ws = self._ws()
        if ws is not None:
            try:
                return await on_ws(ws)
            except rest_after as exc:
                self._pylog.debug("%s not done on the trading socket (%s); using REST", what, exc)
        return await on_rest()

    async def place_order(self, kwargs: dict[str, Any]) -> VenueOrder:
        return await self._routed(
            "order.place", lambda ws: ws.new_order(**kwargs), lambda: self._http.new_order(**kwargs)
        )

    async def place_algo(self, kwargs: dict[str, Any]) -> AlgoOrder:
        return await self._routed(
            "algoOrder.place",
            lambda ws: ws.new_algo_order(**kwargs),
            lambda: self._http.new_algo_order(**kwargs),
        )

    async def cancel_algo(self, cid: str) -> None:
        await self._routed(
            "algoOrder.cancel",
            lambda ws: ws.cancel_algo_order(client_algo_id=cid),
            lambda: self._http.cancel_algo_order(client_algo_id=cid),
        )

    async def amend_order(self, symbol: str, side: str, quantity: str, price: str, cid: str) -> VenueOrder:
        return await self._routed(
            "order.modify",
            lambda ws: ws.modify_order(symbol, side, quantity, price, orig_client_order_id=cid),
            lambda: self._http.modify_order(symbol, side, quantity, price, orig_client_order_id=cid),
        )

    async def cancel_regular(self, symbol: str, cid: str) -> VenueOrder:
        return await self._routed(
            "order.cancel",
            lambda ws: ws.cancel_order(symbol, orig_client_order_id=cid),
            lambda: self._http.cancel_order(symbol, orig_client_order_id=cid),
        )

    async def query_order(self, symbol: str, cid: str) -> VenueOrder:
        return await self._routed(
            "order.status",
            lambda ws: ws.query_order(symbol, orig_client_order_id=cid),
            lambda: self._http.query_order(symbol, orig_client_order_id=cid),
            rest_after=(BinanceAmbiguous, BinanceTransportError),
        )
