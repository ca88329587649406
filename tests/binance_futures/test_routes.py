"""The URLs our Binance clients open, per environment, on the venue's routes since its 2026
websocket base-URL split — checked against the documents they come from:

* Binance USD-M "Important WebSocket Change Notice — Base URL Split & Migration"
  (developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/
  Important-WebSocket-Change-Notice): ``wss://fstream.binance.com/public`` (bookTicker, depth),
  ``/market`` (aggTrade, markPrice, kline, ...), ``/private`` (``/private/ws?listenKey=<k>&events=A/B``);
  legacy root ``/ws`` and ``/stream`` retired 2026-04-23. ``@trade`` is not in its mapping: ccxt
  routes it to ``/public`` (ccxt/ccxt#28083) and users measured it delivering there.
* Binance USD-M "General Info": 'The REST base url for testnet is "https://demo-fapi.binance.com"',
  'The Websocket base url for testnet is "wss://fstream.binancefuture.com"'; live REST
  ``https://fapi.binance.com``.
* Binance USD-M "WebSocket API General Info": ``wss://ws-fapi.binance.com/ws-fapi/v1``, testnet
  ``wss://testnet.binancefuture.com/ws-fapi/v1``.
* DEMO streams: ``wss://demo-fstream.binance.com`` — Binance's legacy-docs General Info ('The
  Websocket base url for testnet is "wss://demo-fstream.binance.com"') and NautilusTrader's
  ``BINANCE_FUTURES_USD_DEMO_WS_URL``; demo REST is the same ``demo-fapi`` host as the docs' testnet.
"""

from __future__ import annotations

import asyncio

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.model.identifiers import TraderId

from adapters.binance_futures.config import (
    BinanceEnvironment,
    BinanceFuturesDataClientConfig,
    BinanceFuturesExecClientConfig,
)
from adapters.binance_futures.factories import BINANCE, BinanceFuturesLiveDataClientFactory
from adapters.binance_futures.schemas_user import KNOWN_EVENT_TYPES
from adapters.binance_futures.streams import MARKET_ROUTE, PUBLIC_ROUTE, stream_route
from adapters.binance_futures.user_stream import USER_STREAM_EVENTS, private_stream_url

EXPECTED = {
    BinanceEnvironment.TESTNET: (
        "https://demo-fapi.binance.com",
        "wss://fstream.binancefuture.com",
        "wss://testnet.binancefuture.com/ws-fapi/v1",
    ),
    BinanceEnvironment.DEMO: (
        "https://demo-fapi.binance.com",
        "wss://demo-fstream.binance.com",
        "wss://testnet.binancefuture.com/ws-fapi/v1",
    ),
    BinanceEnvironment.LIVE: (
        "https://fapi.binance.com",
        "wss://fstream.binance.com",
        "wss://ws-fapi.binance.com/ws-fapi/v1",
    ),
}
EVENTS = "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE/ACCOUNT_CONFIG_UPDATE/MARGIN_CALL/listenKeyExpired"


@pytest.mark.parametrize("env", list(EXPECTED))
async def test_every_environment_uses_the_routed_urls(env: BinanceEnvironment) -> None:
    http, ws, ws_api = EXPECTED[env]
    urls = BinanceFuturesExecClientConfig(environment=env).urls()
    assert (urls.http, urls.ws, urls.ws_api) == (http, ws, ws_api)

    clock = LiveClock()
    config = BinanceFuturesDataClientConfig(environment=env)
    client = BinanceFuturesLiveDataClientFactory.create(
        asyncio.get_running_loop(), BINANCE, config, MessageBus(TraderId("T-001"), clock), Cache(), clock
    )
    pool = client.pool
    opened = {s: pool.base_url + pool.path_for(s) for s in ("btcusdt@depth@100ms", "btcusdt@markPrice@1s")}
    assert opened == {
        "btcusdt@depth@100ms": f"{ws}/public/stream",
        "btcusdt@markPrice@1s": f"{ws}/market/stream",
    }
    assert private_stream_url(urls.ws, "KEY") == f"{ws}/private/ws?listenKey=KEY&events={EVENTS}"
    assert "/ws/" not in private_stream_url(urls.ws, "KEY")  # never the retired root form


def test_each_stream_we_subscribe_goes_to_its_category() -> None:
    public = ["btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@depth", "btcusdt@depth10@100ms"]
    public += ["btcusdt@trade", "!bookTicker"]
    market = ["btcusdt@aggTrade", "btcusdt@markPrice@1s", "btcusdt@markPrice", "btcusdt@kline_1m"]
    market += ["btcusdt@ticker", "btcusdt@forceOrder", "!markPrice@arr"]
    assert {stream_route(s) for s in public} == {PUBLIC_ROUTE}
    assert {stream_route(s) for s in market} == {MARKET_ROUTE}


def test_user_stream_asks_for_every_event_it_acts_on() -> None:
    # The events= filter is an allow list: whatever the handler acts on must be named, listenKeyExpired
    # included; TRADE_LITE (ignored by the handler: ORDER_TRADE_UPDATE carries the same fill) is not.
    assert set(USER_STREAM_EVENTS) == KNOWN_EVENT_TYPES - {"TRADE_LITE"}
    assert "listenKeyExpired" in USER_STREAM_EVENTS
