"""DEMO: Binance demo trading (test money on demo-fapi.binance.com), our data and execution
clients, the example strategy on BTCUSDT. Same configuration as the testnet one, another stream host
(``wss://demo-fstream.binance.com``; REST is ``demo-fapi`` for both).

    export BINANCE_FUTURES_API_KEY=...      # demo trading API keys
    export BINANCE_FUTURES_API_SECRET=...
    .venv/bin/python -m examples.nodes.binance_demo     # Ctrl-C stops
"""

from __future__ import annotations

from nautilus_trader.config import TradingNodeConfig

from adapters.binance_futures import BinanceEnvironment
from adapters.binance_futures.config import ENV_API_KEY, ENV_API_SECRET
from examples.nodes import binance_testnet
from examples.nodes.common import require_env, run_forever


def node_config() -> TradingNodeConfig:
    return binance_testnet.node_config(BinanceEnvironment.DEMO)


def main() -> None:
    require_env(ENV_API_KEY, ENV_API_SECRET)
    run_forever(node_config())


if __name__ == "__main__":
    main()
