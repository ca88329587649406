"""Node configurations for the real venues: testnet first, live only when asked for explicitly.

Keys come from the environment (``BINANCE_FUTURES_API_KEY`` / ``BINANCE_FUTURES_API_SECRET``,
``BINGX_API_KEY`` / ``BINGX_API_SECRET``), never from source files. Building a config talks to nobody;
``tests/docs`` builds them all.
"""

from __future__ import annotations

# --8<-- [start:testnet]
import os

from nautilus_trader.config import InstrumentProviderConfig, TradingNodeConfig

from adapters.binance_futures import BINANCE, BinanceEnvironment, BinanceFuturesExecClientConfig
from adapters.bingx import BINGX, BingxDataClientConfig, BingxEnvironment, BingxExecClientConfig


def testnet_config() -> TradingNodeConfig:
    """Binance USD-M Futures testnet. api_key/api_secret stay None: the client reads
    BINANCE_FUTURES_API_KEY / BINANCE_FUTURES_API_SECRET when it is created."""
    return TradingNodeConfig(
        trader_id="TRADER-001",
        exec_clients={
            BINANCE: BinanceFuturesExecClientConfig(
                environment=BinanceEnvironment.TESTNET,  # default URLs of the testnet
                instrument_provider=InstrumentProviderConfig(load_ids=frozenset({"BTCUSDT-PERP.BINANCE"})),
            ),
        },
    )


# --8<-- [end:testnet]


# --8<-- [start:live]
def live_config() -> TradingNodeConfig:
    """Real money. Refuses to build unless the operator said so in the environment."""
    if os.environ.get("TRADING_ENVIRONMENT") != "LIVE":
        raise RuntimeError("set TRADING_ENVIRONMENT=LIVE to build a live configuration")
    return TradingNodeConfig(
        trader_id="TRADER-001",
        exec_clients={
            BINANCE: BinanceFuturesExecClientConfig(
                environment=BinanceEnvironment.LIVE,  # never a default: always written out
                instrument_provider=InstrumentProviderConfig(load_ids=frozenset({"BTCUSDT-PERP.BINANCE"})),
                dual_side_position=False,  # assert one-way mode; connect fails if the account differs
            ),
        },
    )


# --8<-- [end:live]


# --8<-- [start:bingx_vst]


def bingx_vst_config() -> TradingNodeConfig:
    """BingX demo money (VST; same keys as live). Keys from BINGX_API_KEY / BINGX_API_SECRET."""
    instruments = InstrumentProviderConfig(load_ids=frozenset({"BTC-USDT-PERP.BINGX"}))
    return TradingNodeConfig(
        trader_id="TRADER-001",
        data_clients={
            BINGX: BingxDataClientConfig(environment=BingxEnvironment.VST, instrument_provider=instruments),
        },
        exec_clients={
            BINGX: BingxExecClientConfig(
                environment=BingxEnvironment.VST,
                instrument_provider=instruments,
                dual_side_position=False,  # one-way mode, not queried
            ),
        },
    )


# --8<-- [end:bingx_vst]
