"""examples/nodes: every environment's TradingNodeConfig builds; the real-venue ones are only
checked as objects (nothing here connects to a real venue); LIVE refuses without the opt-in; the
SIM ones run against an in-process simulator and trade."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.model.enums import OrderSide

from adapters.binance_futures.config import (
    BinanceEnvironment,
    BinanceFuturesDataClientConfig,
    BinanceFuturesExecClientConfig,
)
from adapters.bingx.config import BingxDataClientConfig, BingxEnvironment, BingxExecClientConfig
from adapters.sim.oracle import check
from adapters.sim.server import SimVenue
from examples.nodes import binance_demo, binance_testnet, bingx_vst, live, sim_binance, sim_bingx
from examples.nodes.common import run_strategies

KEY_VARS = ("BINANCE_FUTURES_API_KEY", "BINANCE_FUTURES_API_SECRET", "BINGX_API_KEY", "BINGX_API_SECRET")


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*KEY_VARS, "TRADING_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def only_client(clients: dict[str, Any], key: str) -> Any:
    assert list(clients) == [key]
    return clients[key]


def strategy_settings(config: TradingNodeConfig) -> list[dict[str, Any]]:
    return [
        {"path": s.strategy_path, **s.config}
        for s in config.strategies  # type: ignore[union-attr]
    ]


# ------------------------------------------------------------------------- test money, real venues


@pytest.mark.parametrize(
    ("module", "environment", "http", "ws", "ws_api"),
    [
        (
            binance_testnet,
            BinanceEnvironment.TESTNET,
            "https://demo-fapi.binance.com",  # Binance USD-M General Info: the testnet REST base url
            "wss://fstream.binancefuture.com",
            "wss://testnet.binancefuture.com/ws-fapi/v1",
        ),
        (
            binance_demo,
            BinanceEnvironment.DEMO,
            "https://demo-fapi.binance.com",
            "wss://demo-fstream.binance.com",
            "wss://testnet.binancefuture.com/ws-fapi/v1",
        ),
    ],
)
def test_binance_test_money_configs(
    no_keys: pytest.MonkeyPatch, module: Any, environment: BinanceEnvironment, http: str, ws: str, ws_api: str
) -> None:
    config = module.node_config()
    data = only_client(config.data_clients, "BINANCE")
    execution = only_client(config.exec_clients, "BINANCE")
    assert isinstance(data, BinanceFuturesDataClientConfig)
    assert isinstance(execution, BinanceFuturesExecClientConfig)
    for client in (data, execution):
        assert client.environment is environment
        assert (client.urls().http, client.urls().ws, client.urls().ws_api) == (http, ws, ws_api)
        assert client.api_key is None and client.api_secret is None  # read from the environment
        assert client.instrument_provider.load_ids == frozenset({"BTCUSDT-PERP.BINANCE"})
    assert config.trader_id.value == f"{environment.value}-001"
    assert strategy_settings(config) == [
        {
            "path": "adapters.testkit.strategies:FlipFlop",
            "instrument_id": "BTCUSDT-PERP.BINANCE",
            "trade_size": "0.010",
        }
    ]
    # main() names the missing variables before it builds anything
    with pytest.raises(RuntimeError, match="BINANCE_FUTURES_API_KEY, BINANCE_FUTURES_API_SECRET"):
        module.main()


def test_bingx_vst_config(no_keys: pytest.MonkeyPatch) -> None:
    config = bingx_vst.node_config()
    data = only_client(config.data_clients, "BINGX")
    execution = only_client(config.exec_clients, "BINGX")
    assert isinstance(data, BingxDataClientConfig)
    assert isinstance(execution, BingxExecClientConfig)
    for client in (data, execution):
        assert client.environment is BingxEnvironment.VST
        assert (client.urls().http, client.urls().ws) == (
            "https://open-api-vst.bingx.com",
            "wss://vst-open-api-ws.bingx.com/swap-market",
        )
        assert client.api_key is None and client.api_secret is None
        assert client.instrument_provider.load_ids == frozenset({"BTC-USDT-PERP.BINGX"})
    assert strategy_settings(config)[0]["instrument_id"] == "BTC-USDT-PERP.BINGX"
    with pytest.raises(RuntimeError, match="BINGX_API_KEY, BINGX_API_SECRET"):
        bingx_vst.main()


# ------------------------------------------------------------------------------------------ LIVE


@pytest.mark.parametrize("venue", ["binance", "bingx"])
def test_live_refuses_without_the_opt_in(no_keys: pytest.MonkeyPatch, venue: str) -> None:
    for name in KEY_VARS:
        no_keys.setenv(name, "not-a-real-key")
    with pytest.raises(RuntimeError, match="TRADING_ENVIRONMENT=LIVE"):
        live.node_config(venue)
    with pytest.raises(RuntimeError, match="TRADING_ENVIRONMENT=LIVE"):
        live.main(venue)  # the entry point too, before any client exists
    for almost in ("live", "TESTNET", "1", ""):
        no_keys.setenv("TRADING_ENVIRONMENT", almost)
        with pytest.raises(RuntimeError, match="TRADING_ENVIRONMENT=LIVE"):
            live.node_config(venue)


@pytest.mark.parametrize(
    ("venue", "variables"),
    [
        ("binance", "BINANCE_FUTURES_API_KEY, BINANCE_FUTURES_API_SECRET"),
        ("bingx", "BINGX_API_KEY, BINGX_API_SECRET"),
    ],
)
def test_live_refuses_without_keys(no_keys: pytest.MonkeyPatch, venue: str, variables: str) -> None:
    no_keys.setenv("TRADING_ENVIRONMENT", "LIVE")
    with pytest.raises(RuntimeError, match=variables):
        live.node_config(venue)


def test_live_configs(no_keys: pytest.MonkeyPatch) -> None:
    no_keys.setenv("TRADING_ENVIRONMENT", "LIVE")
    for name in KEY_VARS:
        no_keys.setenv(name, "not-a-real-key")

    config = live.node_config("binance")
    data = only_client(config.data_clients, "BINANCE")
    execution = only_client(config.exec_clients, "BINANCE")
    for client in (data, execution):
        assert client.environment is BinanceEnvironment.LIVE
        assert (client.urls().http, client.urls().ws) == (
            "https://fapi.binance.com",
            "wss://fstream.binance.com",
        )
        assert client.api_key is None  # keys stay in the environment, out of the config
    assert execution.dual_side_position is False
    assert config.strategies == []  # real money: no example strategy unless asked for

    config = live.node_config("bingx")
    data = only_client(config.data_clients, "BINGX")
    execution = only_client(config.exec_clients, "BINGX")
    for client in (data, execution):
        assert client.environment is BingxEnvironment.LIVE
        assert client.urls().http == "https://open-api.bingx.com"
        assert client.api_key is None
    assert execution.dual_side_position is False

    with pytest.raises(ValueError, match="unknown venue"):
        live.node_config("kraken")


# ------------------------------------------------------------------------------------------- SIM


@pytest.mark.parametrize(
    ("venue", "module", "instrument_id"),
    [
        ("binance-futures", sim_binance, "BTCUSDT-PERP.BINANCE"),
        ("bingx", sim_bingx, "BTC-USDT-PERP.BINGX"),
    ],
)
async def test_sim_node_trades(venue: str, module: Any, instrument_id: str) -> None:
    async with SimVenue(venue, seed=3, step_interval=0.02) as sim:
        config = module.node_config(sim.info(), max_orders=4, every_n_quotes=3)
        data = next(iter(config.data_clients.values()))
        assert data.base_url_http == sim.rest_url  # pointed at the simulator, nowhere else
        node, [flip] = await asyncio.wait_for(run_strategies(config, within=30), timeout=45)
        state = sim.state()

    orders = node.cache.orders()
    assert [o.side for o in orders] == [OrderSide.BUY, OrderSide.SELL, OrderSide.BUY, OrderSide.SELL]
    assert all(o.status_string() == "FILLED" for o in orders)
    assert all(o.instrument_id.value == instrument_id for o in orders)
    assert flip.fills and sum(f.last_qty.as_decimal() for f in flip.fills) == 4 * Decimal(
        module.node_config(sim.info()).strategies[0].config["trade_size"]
    )
    assert all(p.is_closed for p in node.cache.positions())
    # every venue trade reached the node exactly once, and the venue's order statuses match
    report = check(state, node.cache, venue=venue)
    assert report.ok, report.details()
    assert report.venue_trades == len(flip.fills) >= 4


async def test_sim_main_runs_against_a_simulator_line(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m examples.nodes.sim_binance --info '<JSON>'`` (the line of ``make sim``)."""
    async with SimVenue(seed=4, step_interval=0.02) as sim:
        assert await asyncio.wait_for(sim_binance.main(json.dumps(sim.info())), timeout=45) == 0
        filled = [o for o in sim.state()["orders"] if o["status"] == "FILLED"]
    out = capsys.readouterr().out
    assert "FlipFlop-000:" in out and "6 orders" in out
    assert len(filled) == 6
