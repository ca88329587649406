"""The node process of the restart drill (:mod:`adapters.testkit.restart_drill`).

A ``TradingNode`` with NautilusTrader's Redis-backed cache and our execution client for one venue,
trading against a simulator started from its command line. It runs in its own process so that the
drill can kill it the way an operator's machine does - SIGKILL, no shutdown, whatever NautilusTrader
had not yet written to Redis is gone - and start it again with the same trader id on the same Redis.

    python -m adapters.testkit.drill_node --venue binance --sim '<the simulator JSON line>' \\
        --redis-port P [--trader-id DRILL-001] [--log-dir DIR]

Commands, one JSON object per line on stdin (the strategy executes them):

    {"cmd": "orders", "orders": [{"type": "LIMIT", "side": "BUY", "qty": "0.010", "price": "..."},
                                 {"type": "MARKET", "side": "SELL", "qty": "0.003"}, ...]}
    {"cmd": "check"}   the node's view against the venue's ground truth (GET /sim/state), by the oracle
    {"cmd": "stop"}    a graceful stop (NautilusTrader flushes its cache), exit 0

What the node says goes to stdout as lines starting with :data:`MARK` followed by a JSON object
(NautilusTrader's own log lines go to a file, or are ignored by the drill): ``built`` (about to
start: connect, reconcile), ``ready`` (the trader runs and our client's startup sync is through),
``submitted``/``filled`` per order event, and ``check`` with the oracle's report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.config import DatabaseConfig
from nautilus_trader.config import (
    CacheConfig,
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled, OrderSubmitted
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from adapters.binance_futures.config import BinanceFuturesExecClientConfig
from adapters.binance_futures.factories import BINANCE, BinanceFuturesLiveExecClientFactory
from adapters.bingx.config import BingxExecClientConfig
from adapters.bingx.factories import BINGX, BingxLiveExecClientFactory
from adapters.sim.oracle import check

MARK = "@@drill "
STRATEGY_ID = "DRILL-001"
# Per venue: instrument id and the venue symbol the drill trades.
INSTRUMENT = {"binance": "BTCUSDT-PERP.BINANCE", "bingx": "BTC-USDT-PERP.BINGX"}
SYMBOL = {"binance": "BTCUSDT", "bingx": "BTC-USDT"}
# Inferred fills (NautilusTrader's reconciliation filling a gap it cannot explain) sit on orders of
# this strategy / with this tag, and carry a UUID as trade id, never a venue trade id.
INFERRED_STRATEGY = "INTERNAL-DIFF"
INFERRED_TAG = "INTERNAL"


def emit(event: dict[str, Any]) -> None:
    """One line for the drill; flushed at once, the process may be killed right after."""
    sys.stdout.write(MARK + json.dumps(event, default=str) + "\n")
    sys.stdout.flush()


def cache_config(redis_host: str, redis_port: int, buffer_interval_ms: int | None = None) -> CacheConfig:
    """The cache a production node restarts from: Redis, written through as events happen.

    ``buffer_interval_ms=None`` (NautilusTrader's default): every write goes to Redis as soon as
    NautilusTrader's writer task takes it, not in batches every N ms - a kill loses the least. Not
    ``flush_on_start``: the restarted node must find its orders (docs/operations.md, Restart and
    Redis). The drill can set ``buffer_interval_ms`` to see what batching costs."""
    return CacheConfig(
        database=DatabaseConfig(type="redis", host=redis_host, port=redis_port),
        buffer_interval_ms=buffer_interval_ms,
        flush_on_start=False,
    )


def exec_config(venue: str, sim: dict[str, str]) -> BinanceFuturesExecClientConfig | BingxExecClientConfig:
    common: dict[str, Any] = {
        "api_key": sim["api_key"],
        "api_secret": sim["api_secret"],
        "base_url_http": sim["rest"],
        "base_url_ws": sim["ws_user"],
        "instrument_provider": InstrumentProviderConfig(load_ids=frozenset({INSTRUMENT[venue]})),
        "http_timeout_secs": 5.0,
        # Quick liveness: a socket of the killed node is gone; the new one must not wait minutes.
        "ws_ping_interval_secs": 1.0,
        "ws_pong_timeout_secs": 3.0,
        "recovery_backoff_initial_secs": 0.1,
        "recovery_backoff_cap_secs": 1.0,
    }
    if venue == "binance":
        return BinanceFuturesExecClientConfig(base_url_ws_api=sim["ws_api"], **common)
    return BingxExecClientConfig(**common)


def node_config(
    venue: str,
    sim: dict[str, str],
    redis_host: str,
    redis_port: int,
    trader_id: str,
    log_dir: Path | None,
    buffer_interval_ms: int | None = None,
) -> TradingNodeConfig:
    logging = LoggingConfig(
        log_level="ERROR",
        log_level_file="INFO" if log_dir is not None else None,
        log_directory=str(log_dir) if log_dir is not None else None,
        log_file_name=f"node-{uuid.uuid4().hex[:8]}" if log_dir is not None else None,
        log_colors=False,
        print_config=False,
    )
    key = BINANCE if venue == "binance" else BINGX
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=logging,
        cache=cache_config(redis_host, redis_port, buffer_interval_ms),
        exec_engine=LiveExecEngineConfig(reconciliation=True, inflight_check_threshold_ms=10_000),
        exec_clients={key: exec_config(venue, sim)},
        timeout_connection=20,
        timeout_reconciliation=20,
        timeout_portfolio=5,
        timeout_disconnection=5,
        timeout_post_stop=0.2,
    )


class DrillStrategy(Strategy):
    """Places what the drill asks (a ladder of limit orders, market orders) and reports its order
    events. The same strategy id in every life of the node: the restarted one owns the orders."""

    def __init__(self, instrument_id: str, say: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(StrategyConfig(strategy_id=STRATEGY_ID))
        self._instrument_id = InstrumentId.from_str(instrument_id)
        self._say = say

    def place(self, orders: list[dict[str, Any]]) -> list[str]:
        inst = self.cache.instrument(self._instrument_id)
        if inst is None:
            raise KeyError(f"instrument {self._instrument_id} not in cache")
        cids = []
        for o in orders:
            side = OrderSide.BUY if o["side"] == "BUY" else OrderSide.SELL
            qty = inst.make_qty(Decimal(o["qty"]))
            if o["type"] == "MARKET":
                order = self.order_factory.market(inst.id, side, qty)
            else:
                order = self.order_factory.limit(inst.id, side, qty, inst.make_price(Decimal(o["price"])))
            self.submit_order(order)
            cids.append(order.client_order_id.value)
        return cids

    def on_event(self, event: Any) -> None:
        if isinstance(event, OrderSubmitted):
            self._say({"event": "submitted", "cid": event.client_order_id.value})
        elif isinstance(event, OrderFilled):
            self._say(
                {"event": "filled", "cid": event.client_order_id.value, "trade_id": event.trade_id.value}
            )

    def on_stop(self) -> None:
        pass  # orders stay as they are: the drill compares them with the venue


def inferred_fills(cache: Cache) -> list[str]:
    """Fills NautilusTrader made up in reconciliation: on an INTERNAL-DIFF order, or with a UUID as
    trade id (venue trade ids are numbers on both venues)."""
    out = []
    for order in cache.orders():
        inferred_order = order.strategy_id.value == INFERRED_STRATEGY or INFERRED_TAG in (order.tags or [])
        for e in order.events:
            if isinstance(e, OrderFilled) and (inferred_order or not e.trade_id.value.isdigit()):
                out.append(f"{order.client_order_id.value}/{e.trade_id.value} {e.last_qty}")
    return out


def node_view(cache: Cache, *, positions: bool = False) -> dict[str, Any]:
    """What the node believes, for the drill's report and for a reader of a failed run (``positions``:
    every position, closed ones too, with its trade ids)."""
    orders = []
    for order in cache.orders():
        fills = [e.trade_id.value for e in order.events if isinstance(e, OrderFilled)]
        orders.append(
            {
                "cid": order.client_order_id.value,
                "strategy": order.strategy_id.value,
                "status": order.status_string(),
                "filled": str(order.filled_qty),
                "fills": fills,
            }
        )
    view: dict[str, Any] = {
        "orders": orders,
        "positions": {p.instrument_id.value: str(p.signed_qty) for p in cache.positions_open()},
    }
    if positions:
        view["all_positions"] = [
            {"id": p.id.value, "qty": str(p.signed_qty), "trades": [t.value for t in p.trade_ids]}
            for p in cache.positions()
        ]
    return view


class DrillNode:
    def __init__(self, args: argparse.Namespace) -> None:
        self.venue: str = args.venue
        self.sim: dict[str, str] = json.loads(args.sim)
        self.config = node_config(
            self.venue,
            self.sim,
            args.redis_host,
            args.redis_port,
            args.trader_id,
            Path(args.log_dir) if args.log_dir else None,
            args.buffer_interval_ms,
        )
        self.strategy = DrillStrategy(INSTRUMENT[self.venue], emit)
        self.node: TradingNode | None = None
        self.commands: asyncio.Queue[str] = asyncio.Queue()

    def client(self) -> Any:
        assert self.node is not None
        engine = self.node.kernel.exec_engine
        return engine._clients[engine.registered_clients[0]]  # type: ignore[attr-defined]

    async def wait_until(self, condition: Callable[[], bool], within: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {within}s waiting for {what}")
            await asyncio.sleep(0.01)

    def _read_stdin(self, loop: asyncio.AbstractEventLoop) -> None:
        # A thread: a blocking read of the pipe must not hold the node's event loop.
        for line in sys.stdin:
            loop.call_soon_threadsafe(self.commands.put_nowait, line)
        loop.call_soon_threadsafe(self.commands.put_nowait, '{"cmd": "stop"}')

    async def check(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        assert self.node is not None
        async with session.get(f"{self.sim['rest']}/sim/state") as r:
            state = await r.json()
        cache = self.node.cache
        report = check(
            state,
            cache,
            avg_price=True,
            positions=True,
            balances=True,
            orders_known=True,
            venue="bingx" if self.venue == "bingx" else None,
        )
        return {
            "event": "check",
            "ok": report.ok,
            "venue_trades": report.venue_trades,
            "node_fills": report.node_fills,
            "violations": report.violations(),
            "details": report.details(),
            "inferred": inferred_fills(cache),
            "view": node_view(cache),
        }

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        node = TradingNode(config=self.config, loop=loop)
        node.trader.add_strategy(self.strategy)
        if self.venue == "binance":
            node.add_exec_client_factory(BINANCE, BinanceFuturesLiveExecClientFactory)
        else:
            node.add_exec_client_factory(BINGX, BingxLiveExecClientFactory)
        node.build()
        self.node = node
        restored = len(node.cache.orders())  # what the cache loaded from Redis (0 on a first start)
        # What Redis gave back, before anything reconciles it: the first thing to read when a drill fails.
        emit(
            {"event": "built", "restored_orders": restored, "restored": node_view(node.cache, positions=True)}
        )
        run_task = loop.create_task(node.run_async(), name="trading-node")
        await self.wait_until(lambda: self.strategy.is_running or run_task.done(), 60.0, "the trader")
        if run_task.done():
            run_task.result()
            raise RuntimeError("the node stopped before its trader ran")
        startup = self.client().startup
        await self.wait_until(startup.done.is_set, 60.0, "our client's startup sync")
        emit(
            {
                "event": "ready",
                "restored_orders": restored,
                "adopted": startup.adopted,
                "in_flight": startup.in_flight,
                "reason": startup.reason,
                "position_repairs": self.client().position_repairs,
            }
        )
        threading.Thread(target=self._read_stdin, args=(loop,), daemon=True).start()
        async with aiohttp.ClientSession() as session:
            while True:
                msg = json.loads(await self.commands.get())
                if msg["cmd"] == "orders":
                    emit({"event": "placed", "cids": self.strategy.place(msg["orders"])})
                elif msg["cmd"] == "check":
                    emit(await self.check(session))
                elif msg["cmd"] == "stop":
                    break
        await node.stop_async()
        await asyncio.wait_for(run_task, timeout=20)
        node.kernel.dispose()
        emit({"event": "stopped"})
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.testkit.drill_node")
    parser.add_argument("--venue", choices=("binance", "bingx"), required=True)
    parser.add_argument("--sim", required=True, help="the simulator's JSON line")
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--trader-id", default="DRILL-001")
    parser.add_argument("--log-dir", default=None, help="NautilusTrader's log file goes here")
    parser.add_argument(
        "--buffer-interval-ms", type=int, default=None, help="CacheConfig.buffer_interval_ms (default: none)"
    )
    args = parser.parse_args(argv)
    return asyncio.run(DrillNode(args).run())


if __name__ == "__main__":
    sys.exit(main())
