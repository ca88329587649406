"""Issue 14 item 7: a package users import as they import NautilusTrader's adapters, and a
``TradingNodeConfig`` written as JSON or YAML with ``ImportableConfig`` paths (the way NautilusTrader's
config files name factories and configs) that builds, starts and stops a node with our clients.

* ``from adapters.binance_futures import ...`` / ``from adapters.bingx import ...`` with ``__all__``,
  loaded lazily (a submodule import does not pull the node machinery in);
* ``examples/config/sim_node.yaml`` and its JSON twin are the same config; a node built from either
  (factories from the file, no ``add_*_client_factory``) trades on both simulators and stops;
* the testnet file builds with the TESTNET URLs; NautilusTrader's own ``TradingNodeConfig.parse`` loses
  such entries (why ``adapters.node_config`` exists); errors name the client.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nautilus_trader.config import (
    ImportableConfig,
    LiveDataClientConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import ClientId

import adapters.binance_futures
import adapters.bingx
from adapters.node_config import load_node_config, node_config_from_dict
from examples.config_node import SIM_NODE_JSON, SIM_NODE_YAML, TESTNET_NODE_YAML, run_config_file

ROOT = Path(__file__).resolve().parents[2]
FAKE_ENV = {
    "BINANCE_SIM_REST": "http://127.0.0.1:1",
    "BINANCE_SIM_WS": "ws://127.0.0.1:1",
    "BINANCE_SIM_WS_API": "ws://127.0.0.1:1/ws-fapi/v1",
    "BINANCE_SIM_API_KEY": "k",
    "BINANCE_SIM_API_SECRET": "s",
    "BINGX_SIM_REST": "http://127.0.0.1:2",
    "BINGX_SIM_WS": "ws://127.0.0.1:2/swap-market",
    "BINGX_SIM_API_KEY": "k2",
    "BINGX_SIM_API_SECRET": "s2",
}


# ------------------------------------------------------------------------------------- imports


def test_package_imports_like_nautilus_traders_adapters() -> None:
    from adapters.binance_futures import (
        BINANCE,
        BinanceEnvironment,
        BinanceFuturesDataClientConfig,
        BinanceFuturesExecClientConfig,
        BinanceFuturesLiveDataClientFactory,
        BinanceFuturesLiveExecClientFactory,
    )
    from adapters.binance_futures.config import BinanceEnvironment as Env
    from adapters.binance_futures.factories import BinanceFuturesLiveExecClientFactory as Factory
    from adapters.bingx import (
        BINGX,
        BingxDataClientConfig,
        BingxEnvironment,
        BingxExecClientConfig,
        BingxLiveDataClientFactory,
        BingxLiveExecClientFactory,
    )

    assert BinanceEnvironment is Env and BinanceFuturesLiveExecClientFactory is Factory
    assert (BINANCE, BINGX) == ("BINANCE", "BINGX")
    assert issubclass(BinanceFuturesDataClientConfig, LiveDataClientConfig)
    assert BingxEnvironment.VST.value == "VST"
    assert {
        BinanceFuturesExecClientConfig,
        BinanceFuturesLiveDataClientFactory,
        BingxDataClientConfig,
        BingxExecClientConfig,
        BingxLiveDataClientFactory,
        BingxLiveExecClientFactory,
    }
    for package in (adapters.binance_futures, adapters.bingx):
        assert all(hasattr(package, name) for name in package.__all__)
        assert set(package.__all__) <= set(dir(package))
    with pytest.raises(ImportError):
        exec("from adapters.binance_futures import NoSuchName")


def test_submodule_import_stays_light() -> None:
    code = (
        "import sys, adapters.binance_futures.schemas_user, adapters.bingx.schemas_user;"
        "print(any(m.startswith('nautilus_trader.live') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -------------------------------------------------------------------------------- config files


def test_json_and_yaml_files_are_the_same_config() -> None:
    from_yaml = load_node_config(SIM_NODE_YAML, environ=FAKE_ENV)
    from_json = load_node_config(SIM_NODE_JSON, environ=FAKE_ENV)
    assert from_yaml == from_json
    binance = from_yaml.data_clients["BINANCE"]
    assert isinstance(binance, ImportableConfig)  # what NautilusTrader's node builder imports from
    exec_config = from_yaml.exec_clients["BINANCE"].create()
    assert exec_config.urls().ws_api == "ws://127.0.0.1:1/ws-fapi/v1"
    assert exec_config.api_secret == "s" and "s" not in repr(exec_config).split("api_secret=")[1][:4]
    assert [str(i) for i in exec_config.instrument_provider.load_ids] == ["BTCUSDT-PERP.BINANCE"]
    assert [s.config["instrument_id"] for s in from_yaml.strategies] == [
        "BTCUSDT-PERP.BINANCE",
        "BTC-USDT-PERP.BINGX",
    ]


@pytest.mark.parametrize("path", [SIM_NODE_YAML, SIM_NODE_JSON], ids=["yaml", "json"])
async def test_node_from_file_trades_on_both_simulators_and_stops(path: Path) -> None:
    node, flips = await run_config_file(path, within=45)
    assert [s.instrument_id.value for s in flips] == ["BTCUSDT-PERP.BINANCE", "BTC-USDT-PERP.BINGX"]
    assert all(s.done and len(s.fills) == 2 for s in flips)  # every order filled through our clients
    assert all(p.is_closed for p in node.cache.positions())
    assert {a.id.get_issuer() for a in node.cache.accounts()} == {"BINANCE", "BINGX"}


async def test_testnet_file_builds_with_the_testnet_routes(monkeypatch: Any) -> None:
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY", "k")
    monkeypatch.setenv("BINANCE_FUTURES_API_SECRET", "s")
    config = load_node_config(TESTNET_NODE_YAML)
    data = config.data_clients["BINANCE"].create()
    execution = config.exec_clients["BINANCE"].create()
    assert data.urls() == execution.urls()
    assert (execution.urls().http, execution.urls().ws) == (
        "https://demo-fapi.binance.com",
        "wss://fstream.binancefuture.com",
    )
    assert (data.ws_stream_path, data.ws_book_path) == ("/market/stream", "/public/stream")
    assert execution.api_key is None and execution.dual_side_position is False
    node = TradingNode(config=config, loop=asyncio.get_running_loop())  # no connection before run
    try:
        node.build()
        assert node.kernel.data_engine.registered_clients == [ClientId("BINANCE")]
        assert node.kernel.exec_engine.registered_clients == [ClientId("BINANCE")]
    finally:
        node.kernel.dispose()


def test_nautilus_traders_own_parse_loses_the_client_entries() -> None:
    """Why ``adapters.node_config`` exists (NautilusTrader 1.221): the stock decoder keeps a bare
    ``LiveDataClientConfig`` and drops path, factory and config without a word."""
    raw = SIM_NODE_JSON.read_bytes()
    stock = TradingNodeConfig.parse(raw)
    assert type(stock.data_clients["BINANCE"]) is LiveDataClientConfig


def test_errors_name_the_client_and_the_problem() -> None:
    def entry(**config: Any) -> dict[str, Any]:
        return {
            "data_clients": {
                "BINANCE": {
                    "path": "adapters.binance_futures:BinanceFuturesDataClientConfig",
                    "factory": {"path": "adapters.binance_futures:BinanceFuturesLiveDataClientFactory"},
                    "config": config,
                }
            }
        }

    with pytest.raises(ValueError, match=r"data_clients\.BINANCE: .*no field\(s\) \['enviroment'\]"):
        node_config_from_dict(entry(enviroment="TESTNET"))
    with pytest.raises(ValueError, match=r"data_clients\.BINANCE: .*TESTNETT"):
        node_config_from_dict(entry(environment="TESTNETT"))
    with pytest.raises(ValueError, match="BINANCE_SIM_REST is not set"):
        node_config_from_dict(entry(base_url_http="${BINANCE_SIM_REST}"), environ={})
    config = node_config_from_dict(entry(base_url_http="${NOPE:-http://h:1}"), environ={})
    assert config.data_clients["BINANCE"].create().base_url_http == "http://h:1"
    with pytest.raises(ValueError, match="path"):
        node_config_from_dict({"exec_clients": {"BINANCE": {"config": {}}}})
