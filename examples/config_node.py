"""A TradingNode built from a config file — ``examples/config/sim_node.yaml`` (or its JSON twin) —
the way NautilusTrader config files name clients (``ImportableConfig`` with a factory path) and
strategies (``ImportableStrategyConfig``), run against both simulators started here.

    .venv/bin/python -m examples.config_node                                  # the YAML file
    .venv/bin/python -m examples.config_node examples/config/sim_node.json

The simulators' URLs and keys go into the environment variables the file names (``${BINANCE_SIM_REST}``
...); ``adapters.node_config.load_node_config`` reads the file, and the node needs no
``add_*_client_factory``: the factories come from the file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from nautilus_trader.live.node import TradingNode

from adapters.node_config import load_node_config
from adapters.sim.server import SimVenue
from adapters.testkit.strategies import FlipFlop
from examples.nodes.common import run_until, strategies, summary

CONFIG_DIR = Path(__file__).resolve().parent / "config"
SIM_NODE_YAML = CONFIG_DIR / "sim_node.yaml"
SIM_NODE_JSON = CONFIG_DIR / "sim_node.json"
TESTNET_NODE_YAML = CONFIG_DIR / "testnet_node.yaml"


def sim_environ(binance: SimVenue, bingx: SimVenue) -> dict[str, str]:
    """The variables ``sim_node.yaml`` names, from two running simulators (plus the process's own)."""
    b, x = binance.info(), bingx.info()
    return {
        **os.environ,
        "BINANCE_SIM_REST": b["rest"],
        "BINANCE_SIM_WS": b["ws_user"],
        "BINANCE_SIM_WS_API": b["ws_api"],
        "BINANCE_SIM_API_KEY": b["api_key"],
        "BINANCE_SIM_API_SECRET": b["api_secret"],
        "BINGX_SIM_REST": x["rest"],
        "BINGX_SIM_WS": x["ws_user"],
        "BINGX_SIM_API_KEY": x["api_key"],
        "BINGX_SIM_API_SECRET": x["api_secret"],
    }


async def run_config_file(
    path: str | Path = SIM_NODE_YAML, within: float = 45.0
) -> tuple[TradingNode, list[FlipFlop]]:
    """Start both simulators, build the node from ``path``, run it until its strategies have sent and
    filled their orders; returns the stopped, disposed node and its strategies."""
    async with (
        SimVenue("binance-futures", seed=7, step_interval=0.05) as binance,
        SimVenue("bingx", seed=8, step_interval=0.05) as bingx,
    ):
        config = load_node_config(path, environ=sim_environ(binance, bingx))
        node = TradingNode(config=config, loop=asyncio.get_running_loop())
        node.build()  # the factories come from the file: no add_*_client_factory
        flips = strategies(node)
        try:
            await run_until(node, lambda: all(s.done for s in flips), within, "the strategies' fills")
        finally:
            node.kernel.dispose()
    return node, flips


async def main(path: str) -> int:
    node, flips = await run_config_file(path)
    print("\n".join(summary(node, flips)))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", nargs="?", default=str(SIM_NODE_YAML), help="a node config (YAML or JSON)")
    sys.exit(asyncio.run(main(parser.parse_args().config)))
