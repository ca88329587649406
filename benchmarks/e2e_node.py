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
    <- {"cmd": "settle"}                                     before each timed storm: gc.collect()
    -> {"ok": true, "gc_ms": ...}
    <- {"cmd": "stats"}                                      since the previous stats / settle:
    -> {"requests": {"GET /fapi/...": n}, "gc": {"0": {"n", "total_ms", "max_ms"}, ...},
        "cpu_s": ..., "tasks": ..., "per_event_cpu_us": {"adapter": ..., "engine": ...}}
                                                             (per_event_cpu_us: with --cost only)
    <- {"cmd": "submit", "n": N, "instrument": ..., "quantity": ..., "price": ..., "routes": [...],
        "profile": "<path prefix, optional>"}
    -> {"rest": {"latency_ms": [...], "ours_cpu_us": [...], "socket_cpu_us": [...],
                 "total_cpu_us": [...]}, "ws": {...}}
    <- {"cmd": "profile", "on": true|false, ...}             a profile of the whole process
    <- {"cmd": "quit"}

``stats`` is how the storms are checked for fairness: a node that sent REST requests, or paid a
full garbage collection, during a storm says so.

``submit``: N limit orders per route (``rest``, ``ws``: ours with ``use_ws_trading``), one at a time
and paced (36 ms), each canceled (untimed) once accepted; the harness waits on an event set by the
strategy's handlers (no polling task wakes inside the measured windows). Per order: the latency
from just before ``Strategy.submit_order`` to ``on_order_accepted`` (wall clock), and for ours the
CPU time of this thread (``time.thread_time_ns``):

* ``ours_cpu_us``: from the first step of our execution client's ``_submit_order`` coroutine (after
  NautilusTrader's RiskEngine, ExecEngine and ``LiveExecutionClient.submit_order``, which logs the
  order and creates the task) to the order request reaching aiohttp (``ClientSession._request`` of
  the ``POST .../order``) or the WS API frame reaching ``ClientWebSocketResponse.send_str``
  (``order.place``): our code's cost per order;
* ``socket_cpu_us``: from the same start to the first transport write after that (aiohttp's
  building of the HTTP request or of the websocket frame included): to bytes on the socket;
* ``total_cpu_us``: from ``Strategy.submit_order`` to the request reaching aiohttp (NautilusTrader's
  part included).

The path does not suspend between the marks and the loop runs nothing else (the simulator is
another process), so the CPU between two marks is the path's own. ``"profile"`` writes a cProfile
(thread CPU) of exactly the ``ours`` windows, summed over the orders, to ``<path>.<route>.txt``.
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
            # Set on every acceptance / cancel: the submit command waits on it instead of polling
            # (a polling task waking every 0.2 ms would run inside the measured CPU windows).
            self.changed = asyncio.Event()

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
            self.accepted_ns[event.client_order_id.value] = time.perf_counter_ns()
            self.accepted[event.client_order_id.value] = event.venue_order_id.value
            self.changed.set()

        def on_order_canceled(self, event: Any) -> None:
            self.canceled.add(event.client_order_id.value)
            self.changed.set()

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
        # Our code starts where NautilusTrader's LiveExecutionClient.submit_order (its log lines
        # and create_task) hands over: the first step of our _submit_order coroutine.
        original = exec_client._submit_order

        async def _submit_order(command: Any) -> None:
            marks.append(("ours", time.perf_counter_ns(), time.thread_time_ns()))
            _window_start()
            await original(command)

        exec_client._submit_order = _submit_order

    async def wait_for(cond: Any, end: float) -> bool:
        while not cond():
            strategy.changed.clear()
            try:
                await asyncio.wait_for(strategy.changed.wait(), max(0.0, end - time.monotonic()))
            except TimeoutError:
                return bool(cond())
        return True

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
            if cmd.get("profile"):
                import cProfile

                _WINDOW[:] = [cProfile.Profile(time.thread_time_ns, 1e-9)]
            lat: list[float] = []
            ours_cpu: list[float] = []
            socket_cpu: list[float] = []
            total_cpu: list[float] = []
            for _ in range(int(cmd["n"])):
                await asyncio.sleep(0.036)
                marks.clear()
                t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                cid = strategy.place(cmd["instrument"], cmd["quantity"], cmd["price"])
                end = time.monotonic() + 10
                if not await wait_for(lambda cid=cid: cid in strategy.accepted_ns, end):
                    return {"error": f"{route}: order {cid} not accepted"}
                lat.append((strategy.accepted_ns[cid] - t0) / 1e6)
                ours = next((m for m in marks if m[0] == "ours"), None)
                sent = next((m for m in marks if m[0] == route), None)
                wire = next((m for m in marks if m[0] == "socket"), None)
                if sent is not None:
                    total_cpu.append((sent[2] - c0) / 1e3)
                    if ours is not None:
                        ours_cpu.append((sent[2] - ours[2]) / 1e3)
                        if wire is not None:
                            socket_cpu.append((wire[2] - ours[2]) / 1e3)
                strategy.cancel(cid)
                if not await wait_for(lambda cid=cid: cid in strategy.canceled, end):
                    return {"error": f"{route}: order {cid} not canceled"}
            out[route] = {
                "latency_ms": lat,
                "ours_cpu_us": ours_cpu,
                "socket_cpu_us": socket_cpu,
                "total_cpu_us": total_cpu,
            }
            if _WINDOW:
                _write_window_profile(_WINDOW.pop(), f"{cmd['profile']}.{route}.txt", int(cmd["n"]))
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


class Diagnostics:
    """What the process did besides the frames, for checking the storms are fair to both nodes: REST
    requests by method and path, garbage-collector pauses per generation, the process's CPU time.
    ``{"cmd": "stats"}`` answers with the figures since the previous ``stats`` and starts over."""

    def __init__(self) -> None:
        import gc

        self.requests: dict[str, int] = {}
        self.gc_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._gc_start = 0
        self._cpu0 = time.process_time_ns()
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter_ns()
        else:
            self.gc_ms[int(info["generation"])].append((time.perf_counter_ns() - self._gc_start) / 1e6)

    def request(self, method: str, url: Any) -> None:
        path = str(url).split("?")[0]
        path = "/" + path.split("//", 1)[-1].split("/", 1)[-1] if "//" in path else path
        key = f"{method} {path}"
        self.requests[key] = self.requests.get(key, 0) + 1

    def take(self) -> dict[str, Any]:
        cpu = time.process_time_ns()
        out = {
            "requests": dict(self.requests),
            "gc": {
                str(g): {"n": len(v), "total_ms": round(sum(v), 2), "max_ms": round(max(v, default=0.0), 2)}
                for g, v in self.gc_ms.items()
            },
            "cpu_s": round((cpu - self._cpu0) / 1e9, 3),
            "tasks": len(asyncio.all_tasks()),
            "per_event_cpu_us": _take_costs(),
        }
        self.requests.clear()
        for v in self.gc_ms.values():
            v.clear()
        self._cpu0 = cpu
        return out


_DIAG: list[Diagnostics] = []

# --cost: thread CPU per fill of the adapter's user-stream handler and of NautilusTrader's execution
# engine (installed on the classes before the node is built, so bound handlers pick them up).
_COST = {"adapter_ns": 0, "adapter_n": 0, "engine_ns": 0, "engine_n": 0}


def _install_cost_probes(impl: str) -> None:
    import functools

    from nautilus_trader.live.execution_engine import LiveExecutionEngine

    def timed(cls: Any, attr: str, key: str) -> None:
        orig = getattr(cls, attr)

        @functools.wraps(orig)
        def probe(*args: Any, **kwargs: Any) -> Any:
            t = time.thread_time_ns()
            try:
                return orig(*args, **kwargs)
            finally:
                _COST[key + "_ns"] += time.thread_time_ns() - t
                _COST[key + "_n"] += 1

        setattr(cls, attr, probe)

    timed(LiveExecutionEngine, "_handle_event_with_tracking", "engine")
    if impl == "builtin":
        from nautilus_trader.adapters.binance.futures.execution import BinanceFuturesExecutionClient

        timed(BinanceFuturesExecutionClient, "_handle_user_ws_message", "adapter")
        return
    from adapters.core.userstream.frame_handler import UserFrameHandler

    classes = [UserFrameHandler]
    while classes:  # the base and every subclass that overrides handle_frame
        cls = classes.pop()
        if "handle_frame" in cls.__dict__:
            timed(cls, "handle_frame", "adapter")
        classes += cls.__subclasses__()


def _take_costs() -> dict[str, float]:
    out = {
        k: round(_COST[k + "_ns"] / _COST[k + "_n"] / 1e3, 1)
        for k in ("adapter", "engine")
        if _COST[k + "_n"]
    }
    for k in _COST:
        _COST[k] = 0
    return out


# A cProfile of the submit path's window only (submit_order's entry to the request reaching
# aiohttp), summed over the orders of a ``submit`` command given ``"profile": path``.
_WINDOW: list[Any] = []


def _window_start() -> None:
    if _WINDOW:
        _WINDOW[0].enable()


def _window_end() -> None:
    if _WINDOW:
        _WINDOW[0].disable()


def _write_window_profile(prof: Any, path: str, n: int) -> None:
    import io
    import pstats

    prof.disable()
    buf = io.StringIO()
    buf.write(f"# submit path window (thread CPU), {n} orders; cProfile overhead included\n")
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(70)
    stats.sort_stats("tottime").print_stats(40)
    Path(path).write_text(buf.getvalue())


def _install_marks() -> list[tuple[str, int, int]]:
    """Marks (route, wall ns, thread CPU ns) when an order request reaches aiohttp, and when its
    bytes reach the socket."""
    import asyncio.selector_events

    import aiohttp

    transport = asyncio.selector_events._SelectorSocketTransport  # type: ignore[attr-defined]

    marks: list[tuple[str, int, int]] = []
    request = aiohttp.ClientSession._request
    send_str = aiohttp.ClientWebSocketResponse.send_str

    # The clocks are read first: the checks that name the request are the harness's, not the path's.
    async def _request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        ns, cpu = time.perf_counter_ns(), time.thread_time_ns()
        if method == "POST" and str(url).split("?")[0].endswith("/order"):
            _window_end()
            marks.append(("rest", ns, cpu))
            armed[0] = True
        if _DIAG:
            _DIAG[0].request(method, url)
        return await request(self, method, url, *args, **kwargs)

    async def _send_str(self: Any, data: str, compress: Any = None) -> None:
        ns, cpu = time.perf_counter_ns(), time.thread_time_ns()
        if '"order.place"' in data:
            _window_end()
            marks.append(("ws", ns, cpu))
            armed[0] = True
        await send_str(self, data, compress)

    # "Bytes on the socket": the first transport write after an order request reached aiohttp
    # (its HTTP request or its websocket frame built by aiohttp), before the write itself.
    armed = [False]
    write = transport.write

    def _write(self: Any, data: Any) -> None:
        if armed[0]:
            armed[0] = False
            marks.append(("socket", time.perf_counter_ns(), time.thread_time_ns()))
        write(self, data)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign]
    aiohttp.ClientWebSocketResponse.send_str = _send_str  # type: ignore[method-assign]
    transport.write = _write
    return marks


async def _serve_commands(recorder: Recorder, order: Any, submit: Any) -> None:
    import gc

    if not _DIAG:
        _DIAG.append(Diagnostics())
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
        elif cmd["cmd"] == "stats":
            _emit(_DIAG[0].take())
        elif cmd["cmd"] == "settle":
            # Every contender starts each timed storm with no garbage left from the previous ones
            # (a full collection that lands in a storm is a 50-100 ms stall, whoever caused it).
            t = time.perf_counter_ns()
            gc.collect()
            _DIAG[0].take()
            _emit({"ok": True, "gc_ms": round((time.perf_counter_ns() - t) / 1e6, 2)})
        elif cmd["cmd"] == "profile":
            # {"cmd": "profile", "on": true} starts a sampling profile of this process;
            # {"cmd": "profile", "on": false, "path": ...} stops it and writes the text report.
            # "deterministic": true uses cProfile instead (every Python call counted, with its
            # callers: per-call costs of a path such as the submit path).
            if cmd["on"]:
                if cmd.get("deterministic"):
                    import cProfile

                    # thread CPU, not wall time: the loop's idle waits are not the path's cost
                    cprof = cProfile.Profile(time.thread_time_ns, 1e-9)
                    cprof.enable()
                    _PROFILER[:] = [cprof]
                else:
                    from pyinstrument import Profiler

                    profiler = Profiler(interval=0.0002, async_mode="disabled")
                    profiler.start()
                    _PROFILER[:] = [profiler]
            elif _PROFILER:
                prof = _PROFILER.pop()
                if hasattr(prof, "output_text"):
                    prof.stop()
                    text = prof.output_text(unicode=True, color=False)
                else:
                    import io
                    import pstats

                    prof.disable()
                    buf = io.StringIO()
                    stats = pstats.Stats(prof, stream=buf)
                    stats.sort_stats(cmd.get("sort", "tottime")).print_stats(int(cmd.get("limit", 60)))
                    stats.print_callers(int(cmd.get("callers", 0)))
                    text = buf.getvalue()
                Path(cmd["path"]).write_text(cmd.get("header", "") + text)  # noqa: ASYNC240 - after the measurement
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
    parser.add_argument(
        "--cost", action="store_true", help="stats report thread CPU per event: user-stream handler, engine"
    )
    args = parser.parse_args()
    import logging

    logging.getLogger("adapters").setLevel(logging.CRITICAL)
    info = json.loads(args.sim)
    steps = {k: float(Decimal(v)) for k, v in json.loads(args.steps).items()}
    if args.impl == "floor":
        symbol = args.market.split("-PERP")[0]
        asyncio.run(run_floor(info, symbol, steps))
    else:
        if args.cost:
            _install_cost_probes(args.impl)
        asyncio.run(run_node(args.impl, info, args.market, args.fill, steps))


if __name__ == "__main__":
    main()
