"""TESTNET: Binance USD-M Futures testnet (test money, keys of their own), our data and execution
clients, the example strategy on BTCUSDT.

    export BINANCE_FUTURES_API_KEY=...      # from testnet.binancefuture.com, API management
    export BINANCE_FUTURES_API_SECRET=...
    .venv/bin/python -m examples.nodes.binance_testnet     # Ctrl-C stops

The keys stay out of the config: the clients read the variables when they are created.
"""

from __future__ import annotations

from nautilus_trader.config import ImportableStrategyConfig, InstrumentProviderConfig, TradingNodeConfig

from adapters.binance_futures import (
    BINANCE,
    BinanceEnvironment,
    BinanceFuturesDataClientConfig,
    BinanceFuturesExecClientConfig,
)
from adapters.binance_futures.config import ENV_API_KEY, ENV_API_SECRET
from examples.nodes.common import flipflop, require_env, run_forever

INSTRUMENT_ID = "BTCUSDT-PERP.BINANCE"


def node_config(
    environment: BinanceEnvironment = BinanceEnvironment.TESTNET,
    strategies: list[ImportableStrategyConfig] | None = None,
) -> TradingNodeConfig:
    """Binance's test-money environments (TESTNET here, DEMO in ``binance_demo``): the environment
    brings its URLs; only the instruments traded are loaded (request weight)."""
    provider = InstrumentProviderConfig(load_ids=frozenset({INSTRUMENT_ID}))
    return TradingNodeConfig(
        trader_id=f"{environment.value}-001",
        data_clients={
            BINANCE: BinanceFuturesDataClientConfig(environment=environment, instrument_provider=provider),
        },
        exec_clients={
            BINANCE: BinanceFuturesExecClientConfig(environment=environment, instrument_provider=provider),
        },
        strategies=[flipflop(INSTRUMENT_ID, "0.010")] if strategies is None else strategies,
        timeout_post_stop=5.0,
    )


def main() -> None:
    require_env(ENV_API_KEY, ENV_API_SECRET)
    run_forever(node_config())


if __name__ == "__main__":
    main()
