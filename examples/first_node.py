"""A first TradingNode against the simulator: the configuration a real node uses, pointed at local URLs.

    .venv/bin/python -m examples.first_node                   # starts its own simulator in-process
    .venv/bin/python -m examples.first_node --info '<JSON>'   # or use the JSON line of `make sim`

The node connects the Binance execution client (instruments, account, user stream), prints what it
sees, and stops. The docs' quickstart shows this file; ``tests/docs`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

# --8<-- [start:config]
from nautilus_trader.config import InstrumentProviderConfig, LoggingConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from adapters.binance_futures import (
    BINANCE,
    BinanceEnvironment,
    BinanceFuturesExecClientConfig,
    BinanceFuturesLiveExecClientFactory,
)


def node_config(info: dict[str, str]) -> TradingNodeConfig:
    """``info`` is the simulator's start-up JSON line (or ``SimVenue.info()``)."""
    return TradingNodeConfig(
        trader_id="TRADER-001",
        logging=LoggingConfig(log_level="ERROR"),
        timeout_post_stop=2.0,  # wait for residual events after stop (default 10 s)
        exec_clients={
            BINANCE: BinanceFuturesExecClientConfig(
                environment=BinanceEnvironment.SIM,  # the default; SIM has no URLs of its own
                base_url_http=info["rest"],
                base_url_ws=info["ws_user"],
                base_url_ws_api=info["ws_api"],
                api_key=info["api_key"],
                api_secret=info["api_secret"],
                instrument_provider=InstrumentProviderConfig(load_all=True),
            ),
        },
    )


def build_node(info: dict[str, str]) -> TradingNode:
    node = TradingNode(config=node_config(info), loop=asyncio.get_running_loop())
    node.add_exec_client_factory(BINANCE, BinanceFuturesLiveExecClientFactory)
    node.build()
    return node


# --8<-- [end:config]


async def run(info: dict[str, str], within: float = 20.0) -> dict[str, Any]:
    """Start the node, wait until the execution client is connected, report, stop."""
    node = build_node(info)
    runner = asyncio.get_running_loop().create_task(node.run_async(), name="first-node")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        client = next(iter(node.kernel.exec_engine._clients.values()))  # type: ignore[attr-defined]
        while not (node.trader.is_running and client.is_connected and node.cache.accounts()):
            if runner.done() or loop.time() > deadline:
                raise RuntimeError("the execution client did not connect")
            await asyncio.sleep(0.01)
        account = node.cache.accounts()[0]
        return {
            "connected": client.is_connected,
            "instruments": len(node.cache.instruments()),
            "account": str(account.id),
            "balance": str(account.balance_total(account.currencies()[0])),
        }
    finally:
        await node.stop_async()
        await asyncio.wait_for(runner, timeout=15)
        node.kernel.dispose()


async def main(info_json: str | None) -> int:
    if info_json is not None:
        report = await run(json.loads(info_json))
    else:
        from adapters.sim.server import SimVenue

        async with SimVenue(seed=7, step_interval=3600.0) as sim:
            report = await run(sim.info())
    for key, value in report.items():
        print(f"{key:<12} {value}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--info", help="the simulator's JSON line (default: start one in-process)")
    sys.exit(asyncio.run(main(parser.parse_args().info)))
