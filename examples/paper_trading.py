"""Paper trading: our market-data clients feed NautilusTrader's sandbox execution client, which fills
the strategy's orders in a simulated exchange on those live quotes. No keys, no real orders.

    .venv/bin/python -m examples.paper_trading          # against in-process simulators
    .venv/bin/python -m examples.paper_trading --real   # real Binance + BingX market data (Ctrl-C stops)

The sandbox client's venue must equal the data client's venue (``BINANCE`` / ``BINGX``): it takes
its market data from the message bus topics of that venue, so it fills only while data flows, i.e.
while something (here the strategy) is subscribed. Its account starts from ``starting_balances``
every run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory
from nautilus_trader.config import InstrumentProviderConfig, LoggingConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from adapters.binance_futures import (
    BINANCE,
    BinanceEnvironment,
    BinanceFuturesDataClientConfig,
    BinanceFuturesLiveDataClientFactory,
)
from adapters.bingx import BINGX, BingxDataClientConfig, BingxEnvironment, BingxLiveDataClientFactory
from adapters.testkit.strategies import FlipFlop
from examples.nodes.common import flipflop, run_until, strategies, summary

BINANCE_BTC = "BTCUSDT-PERP.BINANCE"
BINGX_BTC = "BTC-USDT-PERP.BINGX"
SANDBOX = "SANDBOX"  # the factory's key; each sandbox client's id is its venue


def sandbox(venue: str) -> SandboxExecutionClientConfig:
    return SandboxExecutionClientConfig(
        venue=venue,  # must equal the data client's venue
        starting_balances=["10000 USDT"],
        oms_type="NETTING",  # one-way mode
        account_type="MARGIN",
        book_type="L1_MBP",  # fills against the quotes
    )


def node_config(
    binance_info: dict[str, str] | None,
    bingx_info: dict[str, str] | None,
    *,
    log_level: str = "WARNING",
    **strategy: Any,
) -> TradingNodeConfig:
    """``*_info``: a simulator's JSON line (``SimVenue.info()``), or None for the real venue's public
    market data (LIVE URLs: market data is public, no keys needed)."""
    data_clients: dict[str, Any] = {}
    exec_clients: dict[str, Any] = {}
    trades = []
    provider = InstrumentProviderConfig(load_ids=frozenset({BINANCE_BTC}))
    if binance_info is None:
        data_clients[BINANCE] = BinanceFuturesDataClientConfig(
            environment=BinanceEnvironment.LIVE, instrument_provider=provider
        )
    else:
        data_clients[BINANCE] = BinanceFuturesDataClientConfig(
            base_url_http=binance_info["rest"],
            base_url_ws=binance_info["ws_market"],
            instrument_provider=provider,
        )
    exec_clients[SANDBOX] = sandbox("BINANCE")
    trades.append(flipflop(BINANCE_BTC, "0.010", **strategy))

    provider = InstrumentProviderConfig(load_ids=frozenset({BINGX_BTC}))
    if bingx_info is None:
        data_clients[BINGX] = BingxDataClientConfig(
            environment=BingxEnvironment.LIVE, instrument_provider=provider
        )
    else:
        data_clients[BINGX] = BingxDataClientConfig(
            base_url_http=bingx_info["rest"],
            base_url_ws=bingx_info["ws_market"],
            instrument_provider=provider,
        )
    exec_clients[f"{SANDBOX}-BINGX"] = sandbox("BINGX")  # key prefix "SANDBOX": the same factory
    trades.append(flipflop(BINGX_BTC, "0.0100", **strategy))
    return TradingNodeConfig(
        trader_id="PAPER-001",
        logging=LoggingConfig(log_level=log_level, log_colors=False, print_config=False),
        data_clients=data_clients,
        exec_clients=exec_clients,
        strategies=trades,
        timeout_connection=15,
        timeout_post_stop=1.0,
    )


def build_node(config: TradingNodeConfig, loop: asyncio.AbstractEventLoop | None = None) -> TradingNode:
    node = TradingNode(config=config, loop=loop)
    node.add_data_client_factory(BINANCE, BinanceFuturesLiveDataClientFactory)
    node.add_data_client_factory(BINGX, BingxLiveDataClientFactory)
    # Registered by class: NautilusTrader injects the portfolio only into a factory of this name.
    node.add_exec_client_factory(SANDBOX, SandboxLiveExecClientFactory)
    node.build()
    return node


async def run(config: TradingNodeConfig, within: float = 30.0) -> tuple[TradingNode, list[FlipFlop]]:
    """Run until every strategy has sent and filled its orders (in the sandbox)."""
    node = build_node(config, asyncio.get_running_loop())
    flips = strategies(node)
    try:
        await run_until(node, lambda: all(s.done for s in flips), within, "the sandbox fills")
    finally:
        node.kernel.dispose()
    return node, flips


async def main(real: bool = False) -> int:
    if real:
        node = build_node(node_config(None, None, log_level="INFO"), asyncio.get_running_loop())
        flips = strategies(node)
        try:
            await run_until(node, lambda: False, within=float("inf"), what="Ctrl-C")
        finally:
            node.kernel.dispose()
    else:
        from adapters.sim.server import SimVenue

        async with (
            SimVenue("binance-futures", seed=7, step_interval=0.05) as binance,
            SimVenue("bingx", seed=7, step_interval=0.05) as bingx,
        ):
            node, flips = await run(node_config(binance.info(), bingx.info()))
    print("\n".join(summary(node, flips)))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", action="store_true", help="the real venues' public market data")
    sys.exit(asyncio.run(main(parser.parse_args().real)))
