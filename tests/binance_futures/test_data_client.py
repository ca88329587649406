"""Unit level: the data client's factory wiring, stream routing and event dispatch, no network."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import msgspec
import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.data import FundingRateUpdate, MarkPriceUpdate, QuoteTick
from nautilus_trader.model.identifiers import TraderId

from adapters.binance_futures.config import BinanceFuturesDataClientConfig, BinanceFuturesExecClientConfig
from adapters.binance_futures.data import OWN_FUNDING, BinanceFuturesDataClient
from adapters.binance_futures.errors import BinanceError
from adapters.binance_futures.factories import (
    BINANCE,
    BinanceFuturesLiveDataClientFactory,
    get_cached_http_client,
    get_cached_instrument_provider,
)
from adapters.binance_futures.parsing import symbol_to_perpetual
from adapters.binance_futures.schemas_market import decode_market_frame
from adapters.binance_futures.schemas_rest import SymbolInfo

URLS = {"base_url_http": "http://127.0.0.1:1", "base_url_ws": "ws://127.0.0.1:1"}


def make_client(**overrides: object) -> tuple[BinanceFuturesDataClient, list[object]]:
    clock = LiveClock()
    msgbus = MessageBus(TraderId("TESTER-001"), clock)
    out: list[object] = []
    msgbus.register("DataEngine.process", out.append)
    config = BinanceFuturesDataClientConfig(
        api_key="k",
        api_secret="s",
        instrument_provider=InstrumentProviderConfig(load_all=True),
        **URLS,
        **overrides,  # type: ignore[arg-type]
    )
    client = BinanceFuturesLiveDataClientFactory.create(
        asyncio.get_running_loop(), BINANCE, config, msgbus, Cache(), clock
    )
    return client, out


async def test_factory_shares_http_client_and_provider_with_the_exec_side() -> None:
    client, _ = make_client()
    exec_cfg = BinanceFuturesExecClientConfig(
        api_key="k", api_secret="s", instrument_provider=InstrumentProviderConfig(load_all=True), **URLS
    )
    http = get_cached_http_client(
        URLS["base_url_http"], "k", "s", exec_cfg.http_timeout_secs, exec_cfg.recv_window_ms
    )
    assert client._http is http
    provider = get_cached_instrument_provider(http, InstrumentProviderConfig(load_all=True))
    assert client._provider is provider
    assert str(client.id) == "BINANCE" and str(client.venue) == "BINANCE"


async def test_data_client_without_credentials_is_allowed() -> None:
    clock = LiveClock()
    config = BinanceFuturesDataClientConfig(**URLS)  # type: ignore[arg-type]
    client = BinanceFuturesLiveDataClientFactory.create(
        asyncio.get_running_loop(), BINANCE, config, MessageBus(TraderId("TESTER-001"), clock), Cache(), clock
    )
    assert isinstance(client, BinanceFuturesDataClient)


async def test_book_streams_routed_to_their_own_path_when_configured() -> None:
    client, _ = make_client(ws_book_path="/public/stream", ws_stream_path="/market/stream")
    path_for = client.pool.path_for
    assert path_for("btcusdt@depth@100ms") == "/public/stream"
    assert path_for("btcusdt@bookTicker") == "/public/stream"
    assert path_for("btcusdt@aggTrade") == "/market/stream"
    assert path_for("btcusdt@markPrice@1s") == "/market/stream"


async def test_mark_price_event_fans_out_to_subscribed_kinds_only() -> None:
    client, out = make_client()
    inst = symbol_to_perpetual(_btc_symbol_info(), 0, Decimal("0.0002"), Decimal("0.0005"), client.venue)
    client._provider.add(inst)
    client._provider.instruments_by_symbol["BTCUSDT"] = inst
    client._mark_kinds["BTCUSDT"] = {OWN_FUNDING}
    frame = decode_market_frame(
        b'{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1700000000000,"s":"BTCUSDT",'
        b'"p":"60000.12345678","i":"59999.9","P":"60000","r":"0.00010000","T":1700006400000}}'
    )
    client.on_market_event(frame.stream, frame.event)
    assert [type(x) for x in out] == [FundingRateUpdate]
    funding = out[0]
    assert isinstance(funding, FundingRateUpdate)
    assert str(funding.rate) == "0.00010000" and funding.next_funding_ns == 1700006400000 * 1_000_000
    # No quote subscription: a bookTicker frame is dropped, not published.
    frame = decode_market_frame(
        b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1.0","B":"1",'
        b'"a":"2.0","A":"1","T":1,"E":1}}'
    )
    client.on_market_event(frame.stream, frame.event)
    assert not any(isinstance(x, QuoteTick | MarkPriceUpdate) for x in out)


def _btc_symbol_info() -> SymbolInfo:
    raw = {
        "symbol": "BTCUSDT",
        "pair": "BTCUSDT",
        "contractType": "PERPETUAL",
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.10", "maxPrice": "1000000", "tickSize": "0.10"},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "120", "stepSize": "0.001"},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
        ],
    }
    return msgspec.convert(raw, SymbolInfo, strict=False)


async def test_the_shared_http_client_logs_its_rate_limit_waits(caplog: pytest.LogCaptureFixture) -> None:
    # The account's HTTP client is built by the factories' cache, for no one client in particular: it
    # was built without a logger, so a recovery held by the local rate limiter waited in silence.
    http = get_cached_http_client("http://127.0.0.1:1", "k-log", "s-log", 1.0, 5000)
    now = http.now_ms()
    window = http.rate_limiter.weight
    window.record(window.limit, now)  # the minute's weight used up
    waits: list[float] = []

    async def no_wait(secs: float) -> None:
        waits.append(secs)

    http._sleep = no_wait  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="adapters"), pytest.raises(BinanceError):
        await http.server_time()  # nothing listens on port 1: the wait is what is checked
    assert waits and waits[0] > 0
    assert any("Rate limit near for GET /fapi/v1/time" in r.getMessage() for r in caplog.records)
    await http.close()
