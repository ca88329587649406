"""LIVE: real money on Binance USD-M Futures or BingX. Builds only when the operator opted in with
``TRADING_ENVIRONMENT=LIVE`` and the venue's keys are in the environment.

    export TRADING_ENVIRONMENT=LIVE
    export BINANCE_FUTURES_API_KEY=... BINANCE_FUTURES_API_SECRET=...   # or BINGX_API_KEY / BINGX_API_SECRET
    .venv/bin/python -m examples.nodes.live binance      # or: bingx        (Ctrl-C stops)

No strategy is configured by default: the node connects, reconciles the account and stays up.
Pass your own ``strategies`` to ``node_config`` (after the simulator, then testnet/VST).
"""

from __future__ import annotations

import os
import sys

from nautilus_trader.config import ImportableStrategyConfig, InstrumentProviderConfig, TradingNodeConfig

from adapters.binance_futures import BINANCE
from adapters.binance_futures import config as binance
from adapters.bingx import BINGX
from adapters.bingx import config as bingx
from examples.nodes.common import require_env, run_forever

OPT_IN = "TRADING_ENVIRONMENT"  # the same convention as examples/testnet_config.py
INSTRUMENT_IDS = {"binance": "BTCUSDT-PERP.BINANCE", "bingx": "BTC-USDT-PERP.BINGX"}


def node_config(
    venue: str = "binance", strategies: list[ImportableStrategyConfig] | None = None
) -> TradingNodeConfig:
    """Real money. Refuses to build unless ``TRADING_ENVIRONMENT=LIVE`` and the keys are set."""
    if os.environ.get(OPT_IN) != "LIVE":
        raise RuntimeError(f"set {OPT_IN}=LIVE to build a live configuration")
    if venue not in INSTRUMENT_IDS:
        raise ValueError(f"unknown venue {venue!r} (binance, bingx)")
    provider = InstrumentProviderConfig(load_ids=frozenset({INSTRUMENT_IDS[venue]}))
    data: binance.BinanceFuturesDataClientConfig | bingx.BingxDataClientConfig
    execution: binance.BinanceFuturesExecClientConfig | bingx.BingxExecClientConfig
    if venue == "binance":
        require_env(binance.ENV_API_KEY, binance.ENV_API_SECRET)
        key = BINANCE
        data = binance.BinanceFuturesDataClientConfig(
            environment=binance.BinanceEnvironment.LIVE,  # never a default: always written out
            instrument_provider=provider,
        )
        execution = binance.BinanceFuturesExecClientConfig(
            environment=binance.BinanceEnvironment.LIVE,
            instrument_provider=provider,
            dual_side_position=False,  # assert one-way mode; connect fails if the account differs
        )
    else:
        require_env(bingx.ENV_API_KEY, bingx.ENV_API_SECRET)
        key = BINGX
        data = bingx.BingxDataClientConfig(
            environment=bingx.BingxEnvironment.LIVE, instrument_provider=provider
        )
        execution = bingx.BingxExecClientConfig(
            environment=bingx.BingxEnvironment.LIVE,
            instrument_provider=provider,
            dual_side_position=False,
        )
    return TradingNodeConfig(
        trader_id="LIVE-001",
        data_clients={key: data},
        exec_clients={key: execution},
        strategies=strategies or [],
        timeout_post_stop=5.0,
    )


def main(venue: str = "binance") -> None:
    run_forever(node_config(venue))


if __name__ == "__main__":
    main(*sys.argv[1:2])
