"""What the node examples share: the example strategy as an importable config, the factories per
venue, and two ways to run a node (until a condition holds, for the simulator; until Ctrl-C, for the
real venues)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any

from nautilus_trader.config import ImportableStrategyConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from adapters.binance_futures import (
    BINANCE,
    BinanceFuturesLiveDataClientFactory,
    BinanceFuturesLiveExecClientFactory,
)
from adapters.bingx import BINGX, BingxLiveDataClientFactory, BingxLiveExecClientFactory
from adapters.testkit.strategies import FlipFlop

# (data factory, exec factory) per config key; the key is also the ClientId and the venue.
FACTORIES: dict[str, tuple[Any, Any]] = {
    BINANCE: (BinanceFuturesLiveDataClientFactory, BinanceFuturesLiveExecClientFactory),
    BINGX: (BingxLiveDataClientFactory, BingxLiveExecClientFactory),
}


def flipflop(instrument_id: str, trade_size: str, **settings: Any) -> ImportableStrategyConfig:
    """The example strategy (``adapters.testkit.strategies.FlipFlop``) as a node config entry."""
    return ImportableStrategyConfig(
        strategy_path="adapters.testkit.strategies:FlipFlop",
        config_path="adapters.testkit.strategies:FlipFlopConfig",
        config={"instrument_id": instrument_id, "trade_size": trade_size, **settings},
    )


def build_node(config: TradingNodeConfig, loop: asyncio.AbstractEventLoop | None = None) -> TradingNode:
    """A TradingNode with the factories of every client the config names, built."""
    node = TradingNode(config=config, loop=loop)
    for key in config.data_clients:
        node.add_data_client_factory(key, FACTORIES[key][0])
    for key in config.exec_clients:
        node.add_exec_client_factory(key, FACTORIES[key][1])
    node.build()
    return node


def strategies(node: TradingNode) -> list[FlipFlop]:
    return [s for s in node.trader.strategies() if isinstance(s, FlipFlop)]


async def run_until(
    node: TradingNode,
    condition: Callable[[], bool],
    within: float = 30.0,
    what: str = "condition",
) -> None:
    """Run a node built on the running loop until ``condition`` holds, then stop it.

    Raises ``TimeoutError`` when it does not hold ``within`` seconds. The caller disposes the node
    afterwards (``node.kernel.dispose()`` inside the loop, or ``node.dispose()`` after it).
    """
    loop = asyncio.get_running_loop()
    runner = loop.create_task(node.run_async(), name="example-node")
    try:
        deadline = loop.time() + within
        while not condition():
            if runner.done():
                runner.result()  # re-raise what ended the node
                raise RuntimeError(f"the node stopped before {what}")
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {within}s waiting for {what}")
            await asyncio.sleep(0.01)
    finally:
        if not runner.done():
            await node.stop_async()
        await asyncio.wait_for(runner, timeout=15)


async def run_strategies(
    config: TradingNodeConfig, within: float = 30.0
) -> tuple[TradingNode, list[FlipFlop]]:
    """Build the node on the running loop and run it until its strategies have sent and filled all
    their orders; returns the stopped, disposed node and its strategies."""
    node = build_node(config, asyncio.get_running_loop())
    flips = strategies(node)
    try:
        await run_until(node, lambda: all(s.done for s in flips), within, "the strategies' fills")
    finally:
        node.kernel.dispose()  # inside the loop: the kernel's dispose, not node.dispose()
    return node, flips


async def sim_main(
    venue: str, node_config: Callable[[dict[str, str]], TradingNodeConfig], info_json: str | None
) -> int:
    """``main`` of the SIM examples: against ``info_json`` (the simulator's JSON line) or a
    simulator started in-process whose market moves every 50 ms."""
    if info_json is not None:
        node, flips = await run_strategies(node_config(json.loads(info_json)))
    else:
        from adapters.sim.server import SimVenue

        async with SimVenue(venue, seed=7, step_interval=0.05) as sim:
            node, flips = await run_strategies(node_config(sim.info()))
    print("\n".join(summary(node, flips)))
    return 0


def require_env(*names: str) -> None:
    """Fail early, naming the variables (never their values), when keys are missing."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"set {', '.join(missing)} in the environment")


def run_forever(config: TradingNodeConfig) -> None:
    """Run a node until Ctrl-C (the real venues)."""
    node = build_node(config)
    try:
        node.run()
    except KeyboardInterrupt:
        pass
    finally:
        node.dispose()


def summary(node: TradingNode, flips: list[FlipFlop]) -> list[str]:
    """``flips``: the strategies, taken before the node was disposed (disposal removes them)."""
    lines = []
    for strategy in flips:
        lines.append(
            f"{strategy.id}: {strategy.quotes} quotes, {strategy.orders_sent} orders, "
            f"{len(strategy.fills)} fills"
        )
    for position in node.cache.positions():
        lines.append(f"position {position.id}: {position.side.name} realized {position.realized_pnl}")
    for account in node.cache.accounts():
        lines.append(f"account {account.id}: {account.balances_total()}")
    return lines
