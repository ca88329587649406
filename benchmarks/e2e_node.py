"""One process of the end-to-end benchmark: a TradingNode (ours or NautilusTrader's built-in Binance
adapter) or a bare websocket client (the floor), fed by a simulator running in another process.

    python -m benchmarks.e2e_node {ours|builtin|floor} --sim '<the simulator CLI's JSON line>'

Every frame kind the benchmark storms is recorded where a trader's code would see it: the
strategy's ``on_quote_tick`` / ``on_trade_tick`` / ``on_order_book_deltas`` / ``on_order_filled``
append ``(key, time.time_ns())`` (the floor: right after its decode). Keys are what the simulator
varied per frame (``adapters.sim.bench_storm``): the bid size / trade size / level size in lots,
the fill's trade id.

Line protocol on stdin / stdout (one JSON object per line):

    -> {"ready": true, "pid": ...}                          once subscribed
    <- {"cmd": "order", "instrument": ..., "quantity": ..., "price": ...}
    -> {"client_order_id": ..., "venue_order_id": ...}       when the order is accepted
    <- {"cmd": "collect"}
    -> {"recv": {"quotes": [[key, ns], ...], ...}}           and the records are cleared
    <- {"cmd": "submit", "n": N, "instrument": ..., "quantity": ..., "price": ..., "routes": [...]}
    -> {"rest": {"latency_ms": [...], "ours_cpu_us": [...], "total_cpu_us": [...]}, "ws": {...}}
    <- {"cmd": "quit"}

``submit``: N limit orders per route (``rest``, ``ws``: ours with ``use_ws_trading``), one at a time
and paced (36 ms), each canceled (untimed) once accepted. Per order: the latency from just before
``Strategy.submit_order`` to ``on_order_accepted`` (wall clock), and for ours the CPU time of this
thread (``time.thread_time_ns``) from the entry of our execution client's ``submit_order`` (after
NautilusTrader's RiskEngine and ExecEngine) to the order request reaching aiohttp
(``ClientSession._request`` of the ``POST .../order``) or the WS API frame reaching
``ClientWebSocketResponse.send_str`` (``order.place``): our code's cost per order; ``total_cpu_us``
starts at ``submit_order`` instead (NautilusTrader's part included). The loop runs nothing else
(the simulator is another process), so the CPU between the two marks is the path's own.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

KINDS = ("quotes", "trades", "depth", "fills")


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Recorder:
    def __init__(self, steps: dict[str, float]) -> None:
        self.rec: dict[str, list[tuple[float, int]]] = {k: [] for k in KINDS}
        self.steps = steps  # kind -> lot size, to turn sizes into integer keys

    def collect(self) -> dict[str, list[list[int]]]:
        out: dict[str, list[list[int]]] = {}
        for kind, rows in self.rec.items():
            step = self.steps.get(kind, 1.0)
            out[kind] = [[round(v / step), ns] for v, ns in rows]
            rows.clear()
        return out


# ------------------------------------------------------------------------------------------------
# TradingNode contenders
# ------------------------------------------------------------------------------------------------
def _strategy_class() -> Any:
    from nautilus_trader.config import StrategyConfig
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.trading.strategy import Strategy

    class BenchConfig(StrategyConfig, frozen=True):
        market_instrument: str
        fill_instrument: str

    class BenchStrategy(Strategy):
        def __init__(self, config: BenchConfig, recorder: Recorder) -> None:
            super().__init__(config)
            self.market_id = InstrumentId.from_str(config.market_instrument)
            self.fill_id = InstrumentId.from_str(config.fill_instrument)
            self.rq = recorder.rec["quotes"]
            self.rt = recorder.rec["trades"]
            self.rd = recorder.rec["depth"]
            self.rf = recorder.rec["fills"]
            self.accepted: dict[str, str] = {}
            self.accepted_ns: dict[str, int] = {}
            self.canceled: set[str] = set()

        def on_start(self) -> None:
            self.subscribe_quote_ticks(self.market_id)
            self.subscribe_trade_ticks(self.market_id)
            self.subscribe_order_book_deltas(self.market_id, book_type=BookType.L2_MBP)

        def on_quote_tick(self, tick: Any) -> None:
            self.rq.append((tick.bid_size.as_double(), time.time_ns()))

        def on_trade_tick(self, tick: Any) -> None:
            self.rt.append((tick.size.as_double(), time.time_ns()))

        def on_order_book_deltas(self, deltas: Any) -> None:
            ns = time.time_ns()
            for d in deltas.deltas:
                if d.order.side == 1:  # OrderSide.BUY: the storm moves one bid level
                    self.rd.append((d.order.size.as_double(), ns))
                    return

        def on_order_filled(self, event: Any) -> None:
            self.rf.append((float(event.trade_id.value), time.time_ns()))

        def on_order_accepted(self, event: Any) -> None:
            self.accepted[event.client_order_id.value] = event.venue_order_id.value
            self.accepted_ns[event.client_order_id.value] = time.perf_counter_ns()

        def on_order_canceled(self, event: Any) -> None:
            self.canceled.add(event.client_order_id.value)

        def place(self, instrument: str, quantity: str, price: str) -> str:
            from nautilus_trader.model.enums import OrderSide, TimeInForce
            from nautilus_trader.model.identifiers import InstrumentId
            from nautilus_trader.model.objects import Price, Quantity

            iid = InstrumentId.from_str(instrument)
            order = self.order_factory.limit(
                iid, OrderSide.BUY, Quantity.from_str(quantity), Price.from_str(price), TimeInForce.GTC
            )
            self.submit_order(order)
            return order.client_order_id.value

        def cancel(self, client_order_id: str) -> None:
            from nautilus_trader.model.identifiers import ClientOrderId

            order = self.cache.order(ClientOrderId(client_order_id))
            if order is not None and order.is_open:
                self.cancel_order(order)

    return BenchConfig, BenchStrategy


def _node_config(impl: str, info: dict[str, str]) -> tuple[Any, list[tuple[str, Any, Any]]]:
    """The TradingNodeConfig and the (key, data factory, exec factory) to add."""
    from nautilus_trader.config import (
        InstrumentProviderConfig,
        LiveExecEngineConfig,
        LoggingConfig,
        TradingNodeConfig,
    )

    provider = InstrumentProviderConfig(load_all=True)
    if impl == "builtin":
        from nautilus_trader.adapters.binance import (
            BINANCE,
            BinanceAccountType,
            BinanceDataClientConfig,
            BinanceExecClientConfig,
        )
        from nautilus_trader.adapters.binance.factories import (
            BinanceLiveDataClientFactory,
            BinanceLiveExecClientFactory,
        )

        common: dict[str, Any] = {
            "api_key": info["api_key"],
            "api_secret": info["api_secret"],
            "account_type": BinanceAccountType.USDT_FUTURES,
            "base_url_http": info["rest"],
            "base_url_ws": info["ws_market"],
            "instrument_provider": provider,
        }
        data = BinanceDataClientConfig(**common, use_agg_trade_ticks=True)
        exe = BinanceExecClientConfig(**common)
        key, factories = BINANCE, (BinanceLiveDataClientFactory, BinanceLiveExecClientFactory)
    elif info["venue"] == "bingx":
        from adapters.bingx.config import BingxDataClientConfig, BingxExecClientConfig
        from adapters.bingx.factories import (
            BINGX,
            BingxLiveDataClientFactory,
            BingxLiveExecClientFactory,
        )

        data = BingxDataClientConfig(
            base_url_http=info["rest"], base_url_ws=info["ws_market"], instrument_provider=provider
        )
        exe = BingxExecClientConfig(
            api_key=info["api_key"],
            api_secret=info["api_secret"],
            base_url_http=info["rest"],
            base_url_ws=info["ws_user"],
            instrument_provider=provider,
        )
        key, factories = BINGX, (BingxLiveDataClientFactory, BingxLiveExecClientFactory)
    else:
        from adapters.binance_futures.config import (
            BinanceFuturesDataClientConfig,
            BinanceFuturesExecClientConfig,
        )
        from adapters.binance_futures.factories import (
            BINANCE,
            BinanceFuturesLiveDataClientFactory,
            BinanceFuturesLiveExecClientFactory,
        )

        data = BinanceFuturesDataClientConfig(
            api_key=info["api_key"],
            api_secret=info["api_secret"],
            base_url_http=info["rest"],
            base_url_ws=info["ws_market"],
            instrument_provider=provider,
        )
        exe = BinanceFuturesExecClientConfig(
            api_key=info["api_key"],
            api_secret=info["api_secret"],
            base_url_http=info["rest"],
            base_url_ws=info["ws_user"],
            base_url_ws_api=info["ws_api"],
            instrument_provider=provider,
            use_ws_trading=True,
        )
        key, factories = BINANCE, (BinanceFuturesLiveDataClientFactory, BinanceFuturesLiveExecClientFactory)
    config = TradingNodeConfig(
        trader_id="BENCH-001",
        logging=LoggingConfig(log_level="ERROR", log_colors=False, print_config=False),
        exec_engine=LiveExecEngineConfig(reconciliation=True),
        data_clients={key: data},
        exec_clients={key: exe},
        timeout_connection=20,
        timeout_reconciliation=10,
        timeout_portfolio=5,
        timeout_disconnection=5,
        timeout_post_stop=0.2,
    )
    return config, [(key, factories[0], factories[1])]


async def run_node(impl: str, info: dict[str, str], market: str, fill: str, steps: dict[str, float]) -> None:
    from nautilus_trader.live.node import TradingNode

    recorder = Recorder(steps)
    config_cls, strategy_cls = _strategy_class()
    strategy = strategy_cls(config_cls(market_instrument=market, fill_instrument=fill), recorder)
    config, factories = _node_config(impl, info)
    node = TradingNode(config=config, loop=asyncio.get_running_loop())
    node.trader.add_strategy(strategy)
    for key, data_factory, exec_factory in factories:
        node.add_data_client_factory(key, data_factory)
        node.add_exec_client_factory(key, exec_factory)
    node.build()
    task = asyncio.get_running_loop().create_task(node.run_async())
    deadline = time.monotonic() + 40
    while not strategy.is_running:
        if time.monotonic() > deadline or task.done():
            raise RuntimeError("the node did not start")
        await asyncio.sleep(0.02)
    if impl == "builtin":
        # The built-in exec client's instruments reach the cache through its data client; make sure.
        for client in node.kernel.exec_engine._clients.values():  # type: ignore[attr-defined]
            for instrument in client._instrument_provider.list_all():
                if node.cache.instrument(instrument.id) is None:
                    node.cache.add_instrument(instrument)
    _emit({"ready": True, "pid": os.getpid()})

    async def order(cmd: dict[str, Any]) -> dict[str, Any]:
        cid = strategy.place(cmd["instrument"], cmd["quantity"], cmd["price"])
        end = time.monotonic() + 15
        while cid not in strategy.accepted:
            if time.monotonic() > end:
                return {"error": f"order {cid} not accepted"}
            await asyncio.sleep(0.01)
        return {"client_order_id": cid, "venue_order_id": strategy.accepted[cid]}

    marks = _install_marks()
    exec_client = next(iter(node.kernel.exec_engine._clients.values()))  # type: ignore[attr-defined]
    if impl != "builtin":
        original = exec_client.submit_order

        def submit_order(command: Any) -> None:
            marks.append(("entry", time.perf_counter_ns(), time.thread_time_ns()))
            original(command)

        exec_client.submit_order = submit_order

    async def submit(cmd: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for route in cmd["routes"]:
            if route == "ws":
                ws = getattr(exec_client, "ws_trading", None)
                if ws is None:
                    continue
                await asyncio.wait_for(ws.wait_ready(), 10)
            if hasattr(exec_client, "route_orders_via_ws"):
                exec_client.route_orders_via_ws = route == "ws"
            lat: list[float] = []
            ours_cpu: list[float] = []
            total_cpu: list[float] = []
            for _ in range(int(cmd["n"])):
                await asyncio.sleep(0.036)
                marks.clear()
                t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                cid = strategy.place(cmd["instrument"], cmd["quantity"], cmd["price"])
                end = time.monotonic() + 10
                while cid not in strategy.accepted_ns:
                    if time.monotonic() > end:
                        return {"error": f"{route}: order {cid} not accepted"}
                    await asyncio.sleep(0.0002)
                lat.append((strategy.accepted_ns[cid] - t0) / 1e6)
                entry = next((m for m in marks if m[0] == "entry"), None)
                sent = next((m for m in marks if m[0] == route), None)
                if sent is not None:
                    total_cpu.append((sent[2] - c0) / 1e3)
                    if entry is not None:
                        ours_cpu.append((sent[2] - entry[2]) / 1e3)
                strategy.cancel(cid)
                while cid not in strategy.canceled:
                    if time.monotonic() > end:
                        return {"error": f"{route}: order {cid} not canceled"}
                    await asyncio.sleep(0.001)
            out[route] = {"latency_ms": lat, "ours_cpu_us": ours_cpu, "total_cpu_us": total_cpu}
        return out

    try:
        await _serve_commands(recorder, order, submit)
    finally:
        await node.stop_async()
        try:
            await asyncio.wait_for(task, timeout=15)
        except TimeoutError:
            task.cancel()
        node.kernel.dispose()


# ------------------------------------------------------------------------------------------------
# The floor: a bare websocket client (decode, pick the key, nothing else)
# ------------------------------------------------------------------------------------------------
async def run_floor(info: dict[str, str], market_symbol: str, steps: dict[str, float]) -> None:
    import aiohttp
    import msgspec

    recorder = Recorder(steps)
    rq, rt, rd, rf = (recorder.rec[k] for k in KINDS)
    bingx = info["venue"] == "bingx"
    decode = msgspec.json.decode
    session = aiohttp.ClientSession()
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    if bingx:
        market = await session.ws_connect(info["ws_market"], max_msg_size=0, autoping=True)
        for i, topic in enumerate(("bookTicker", "trade", "incrDepth")):
            await market.send_str(
                json.dumps({"id": f"b{i}", "reqType": "sub", "dataType": f"{market_symbol}@{topic}"})
            )
        async with session.post(
            info["rest"] + "/openApi/user/auth/userDataStream", headers={"X-BX-APIKEY": info["api_key"]}
        ) as resp:
            key = (await resp.json())["listenKey"]
        user = await session.ws_connect(f"{info['ws_user']}?listenKey={key}", max_msg_size=0)
        sockets = [market, user]
    else:
        sym = market_symbol.lower()
        public = await session.ws_connect(
            f"{info['ws_market']}/public/stream?streams={sym}@bookTicker/{sym}@depth@100ms", max_msg_size=0
        )
        mkt = await session.ws_connect(
            f"{info['ws_market']}/market/stream?streams={sym}@aggTrade", max_msg_size=0
        )
        async with session.post(
            info["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": info["api_key"]}
        ) as resp:
            key = (await resp.json())["listenKey"]
        user = await session.ws_connect(
            f"{info['ws_user']}/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE", max_msg_size=0
        )
        sockets = [public, mkt, user]

    def on_binance(raw: str) -> None:
        msg = decode(raw)
        data = msg.get("data", msg)
        e = data.get("e")
        if e == "bookTicker":
            rq.append((float(data["B"]), time.time_ns()))
        elif e == "aggTrade":
            rt.append((float(data["q"]), time.time_ns()))
        elif e == "depthUpdate":
            rd.append((float(data["b"][0][1]), time.time_ns()))
        elif e == "ORDER_TRADE_UPDATE":
            rf.append((float(data["o"]["t"]), time.time_ns()))

    def on_bingx(raw: bytes) -> None:
        text = gzip.decompress(raw)
        if text == b"Ping":
            return
        msg = decode(text)
        dt = msg.get("dataType", "")
        if dt.endswith("@bookTicker"):
            rq.append((float(msg["data"]["B"]), time.time_ns()))
        elif dt.endswith("@trade"):
            rt.append((float(msg["data"][0]["q"]), time.time_ns()))
        elif dt.endswith("@incrDepth"):
            bids = msg["data"]["bids"]
            if msg["data"].get("action") == "update" and bids:
                rd.append((float(bids[0][1]), time.time_ns()))
        elif msg.get("e") == "ORDER_TRADE_UPDATE":
            rf.append((float(msg["o"]["td"]), time.time_ns()))

    async def pump(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for m in ws:
            if m.type == aiohttp.WSMsgType.TEXT:
                on_binance(m.data)
            elif m.type == aiohttp.WSMsgType.BINARY:
                if bingx and gzip.decompress(m.data) == b"Ping":
                    await ws.send_str("Pong")
                    continue
                on_bingx(m.data)

    pumps = [asyncio.create_task(pump(ws)) for ws in sockets]
    _emit({"ready": True, "pid": os.getpid()})

    async def order(cmd: dict[str, Any]) -> dict[str, Any]:
        return {"client_order_id": "floor", "venue_order_id": "0"}

    async def submit(cmd: dict[str, Any]) -> dict[str, Any]:
        return {}

    try:
        await _serve_commands(recorder, order, submit)
    finally:
        for p in pumps:
            p.cancel()
        for ws in sockets:
            await ws.close()
        await session.close()


# ------------------------------------------------------------------------------------------------
_PROFILER: list[Any] = []


def _install_marks() -> list[tuple[str, int, int]]:
    """Marks (route, wall ns, thread CPU ns) when an order request reaches aiohttp."""
    import aiohttp

    marks: list[tuple[str, int, int]] = []
    request = aiohttp.ClientSession._request
    send_str = aiohttp.ClientWebSocketResponse.send_str

    async def _request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if method == "POST" and str(url).split("?")[0].endswith("/order"):
            marks.append(("rest", time.perf_counter_ns(), time.thread_time_ns()))
        return await request(self, method, url, *args, **kwargs)

    async def _send_str(self: Any, data: str, compress: Any = None) -> None:
        if '"order.place"' in data:
            marks.append(("ws", time.perf_counter_ns(), time.thread_time_ns()))
        await send_str(self, data, compress)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign]
    aiohttp.ClientWebSocketResponse.send_str = _send_str  # type: ignore[method-assign]
    return marks


async def _serve_commands(recorder: Recorder, order: Any, submit: Any) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        cmd = json.loads(line)
        if cmd["cmd"] == "collect":
            _emit({"recv": recorder.collect()})
        elif cmd["cmd"] == "order":
            _emit(await order(cmd))
        elif cmd["cmd"] == "submit":
            _emit(await submit(cmd))
        elif cmd["cmd"] == "profile":
            # {"cmd": "profile", "on": true} starts a sampling profile of this process;
            # {"cmd": "profile", "on": false, "path": ...} stops it and writes the text report.
            from pyinstrument import Profiler

            if cmd["on"]:
                profiler = Profiler(interval=0.0002, async_mode="disabled")
                profiler.start()
                _PROFILER[:] = [profiler]
            elif _PROFILER:
                profiler = _PROFILER.pop()
                profiler.stop()
                text = cmd.get("header", "") + profiler.output_text(unicode=True, color=False)
                Path(cmd["path"]).write_text(text)  # noqa: ASYNC240 - after the measurement
            _emit({"ok": True})
        elif cmd["cmd"] == "quit":
            return


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("impl", choices=["ours", "builtin", "floor"])
    parser.add_argument("--sim", required=True, help="the simulator CLI's JSON line")
    parser.add_argument("--market", required=True, help="instrument id of the market streams")
    parser.add_argument("--fill", required=True, help="instrument id of the fills")
    parser.add_argument("--steps", required=True, help='JSON {"quotes": lot, ...}')
    args = parser.parse_args()
    import logging

    logging.getLogger("adapters").setLevel(logging.CRITICAL)
    info = json.loads(args.sim)
    steps = {k: float(Decimal(v)) for k, v in json.loads(args.steps).items()}
    if args.impl == "floor":
        symbol = args.market.split("-PERP")[0]
        asyncio.run(run_floor(info, symbol, steps))
    else:
        asyncio.run(run_node(args.impl, info, args.market, args.fill, steps))


if __name__ == "__main__":
    main()
