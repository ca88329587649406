"""SIM: a TradingNode with our Binance USD-M data and execution clients against the bundled
simulator, trading the example strategy (``FlipFlop``: a few market orders, long then flat).

    .venv/bin/python -m examples.nodes.sim_binance                   # starts its own simulator
    .venv/bin/python -m examples.nodes.sim_binance --info '<JSON>'   # or the JSON line of `make sim`
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from nautilus_trader.config import InstrumentProviderConfig, LoggingConfig, TradingNodeConfig

from adapters.binance_futures import (
    BINANCE,
    BinanceEnvironment,
    BinanceFuturesDataClientConfig,
    BinanceFuturesExecClientConfig,
)
from examples.nodes.common import flipflop, sim_main

INSTRUMENT_ID = "BTCUSDT-PERP.BINANCE"


def node_config(info: dict[str, str], *, log_level: str = "WARNING", **strategy: Any) -> TradingNodeConfig:
    """``info`` is the simulator's start-up JSON line (``SimVenue.info()``); ``strategy`` overrides
    FlipFlopConfig fields (``max_orders``, ``every_n_quotes``...)."""
    connection: dict[str, Any] = {
        "environment": BinanceEnvironment.SIM,  # the default; SIM has no URLs of its own
        "base_url_http": info["rest"],
        "api_key": info["api_key"],
        "api_secret": info["api_secret"],
        "instrument_provider": InstrumentProviderConfig(load_all=True),
    }
    return TradingNodeConfig(
        trader_id="SIM-001",
        logging=LoggingConfig(log_level=log_level, log_colors=False, print_config=False),
        data_clients={BINANCE: BinanceFuturesDataClientConfig(base_url_ws=info["ws_market"], **connection)},
        exec_clients={
            BINANCE: BinanceFuturesExecClientConfig(
                base_url_ws=info["ws_user"], base_url_ws_api=info["ws_api"], **connection
            ),
        },
        strategies=[flipflop(INSTRUMENT_ID, "0.010", **strategy)],
        timeout_connection=15,
        timeout_reconciliation=10,
        timeout_portfolio=5,
        timeout_disconnection=5,
        timeout_post_stop=1.0,  # residual events after stop (default 10 s)
    )


async def main(info_json: str | None = None) -> int:
    return await sim_main("binance-futures", node_config, info_json)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--info", help="the simulator's JSON line (default: start one in-process)")
    sys.exit(asyncio.run(main(parser.parse_args().info)))
