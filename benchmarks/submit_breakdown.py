"""Where the submit path's CPU goes: thread CPU between checkpoints of our code, per order.

The end-to-end benchmark's node (``benchmarks.e2e_node``, ours) runs with checkpoints on the
submit path: each records ``time.thread_time_ns()`` when a step of the path starts or ends
(NautilusTrader's ``LiveExecutionClient.submit_order``, our ``_submit_order`` coroutine, the order's
tracking, the ``OrderSubmitted`` event, the order's parameters, routing, the request layer, the
query string or WS params with their signature, the URL, the hand-off to aiohttp, the first
transport write). Orders are submitted as the ``submit`` command does (one at a time, paced 36 ms,
the simulator in its own process); the table gives the median of each step over the orders. Each
checkpoint costs about a microsecond of its own.

    python -m benchmarks.submit_breakdown [--venue binance|bingx] [--orders 60]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from typing import Any

_CP: list[tuple[str, int]] = []
_ROWS: list[list[tuple[str, int]]] = []
_ARMED = [False]


def _cp(name: str) -> None:
    if name == "NautilusTrader submit_order":
        _CP.clear()
    _CP.append((name, time.thread_time_ns()))


def _after(cls: Any, attr: str, name: str) -> None:
    orig = getattr(cls, attr)

    @functools.wraps(orig)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = orig(*args, **kwargs)
        _cp(name)
        return result

    setattr(cls, attr, wrapper)


def _before_async(cls: Any, attr: str, name: str) -> None:
    orig = getattr(cls, attr)

    @functools.wraps(orig)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        _cp(name)
        return await orig(*args, **kwargs)

    setattr(cls, attr, wrapper)


def _install(venue: str) -> None:
    import asyncio.selector_events

    import aiohttp

    from adapters.core.client.perp_execution import PerpExecutionClient
    from adapters.core.net.rest_client import RestClientBase
    from adapters.core.net.ws_connection import WsConnection

    if venue == "binance":
        from adapters.binance_futures.execution import BinanceFuturesExecutionClient as Exec
        from adapters.binance_futures.http import BinanceFuturesHttpClient as Http
        from adapters.binance_futures.order_routing import OrderRouter
        from adapters.binance_futures.ws_trading import BinanceWsTradingClient

        _before_async(OrderRouter, "place_order", "to the order router")
        _before_async(BinanceWsTradingClient, "request", "router, new_order_params (WS)")
        _after(BinanceWsTradingClient, "_params", "rate limits, params + signature (WS)")
        _before_async(WsConnection, "send", "frame encoded, request pending (WS)")
        _before_async(Http, "request", "router, new_order_params (REST)")
    else:
        from adapters.bingx.execution import BingxExecutionClient as Exec
        from adapters.bingx.http import BingxHttpClient

        _before_async(BingxHttpClient, "request", "to the request layer (REST)")
    entry = Exec.submit_order

    @functools.wraps(entry)
    def submit_order(self: Any, command: Any) -> None:
        _cp("NautilusTrader submit_order")
        entry(self, command)
        _cp("NautilusTrader submit_order done")

    Exec.submit_order = submit_order  # type: ignore[method-assign]
    _before_async(PerpExecutionClient, "_submit_order", "loop hop to our task")
    _after(Exec, "_register", "track the order")
    _after(Exec, "generate_order_submitted", "OrderSubmitted event")
    _after(Exec, "_order_params", "order parameters")
    _after(RestClientBase, "build_query", "rate limits, query + signature (REST)")
    _after(RestClientBase, "_url", "URL (REST)")

    request = aiohttp.ClientSession._request
    send_str = aiohttp.ClientWebSocketResponse.send_str

    async def _request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if method == "POST" and "/order" in str(url).split("?")[0]:
            _cp("headers, session.request (REST)")
            _ARMED[0] = True
        return await request(self, method, url, *args, **kwargs)

    async def _send_str(self: Any, data: str, compress: Any = None) -> None:
        if '"order.place"' in data:
            _cp("WsConnection.send (WS)")
            _ARMED[0] = True
        await send_str(self, data, compress)

    transport = asyncio.selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
    write = transport.write

    def _write(self: Any, data: Any) -> None:
        if _ARMED[0]:
            _ARMED[0] = False
            _cp("aiohttp to the transport write")
            _ROWS.append(list(_CP))
            _CP.clear()
        write(self, data)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign,assignment]
    aiohttp.ClientWebSocketResponse.send_str = _send_str  # type: ignore[method-assign]
    transport.write = _write


def _node(venue: str, out: str) -> None:
    """The e2e node (ours) with the checkpoints; the per-order steps are written to ``out`` at exit."""
    import atexit

    from benchmarks import e2e_node

    _install(venue)

    def dump() -> None:
        rows = [
            [(name, (t - prev) / 1e3) for (name, t), (_, prev) in zip(row[1:], row[:-1], strict=True)]
            for row in _ROWS
            if row and row[0][0] == "NautilusTrader submit_order"
        ]
        with open(out, "w") as f:
            json.dump(rows, f)

    atexit.register(dump)
    sys.argv = ["e2e_node", *sys.argv[4:]]
    e2e_node.main()


def run(venue: str, orders: int) -> str:
    import tempfile

    from benchmarks.bench_e2e import VENUES, Proc, start_sim

    v = VENUES[venue]
    routes = ["rest", "ws"] if venue == "binance" else ["rest"]
    sim, info = start_sim(venue)
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        node = Proc(
            [
                "-m", "benchmarks.submit_breakdown", "node", venue, tmp.name, "ours",
                "--sim", json.dumps(info), "--market", v["market"], "--fill", v["fill"],
                "--steps", json.dumps(v["steps"]),
            ]
        )  # fmt: skip
        try:
            node.read()
            cmd = {
                "cmd": "submit", "instrument": v["market"], "quantity": v["submit_qty"],
                "price": v["submit_price"],
            }  # fmt: skip
            for route in routes:
                node.ask(cmd | {"n": orders, "routes": [route]})
        finally:
            node.stop()
            sim.terminate()
            sim.wait(timeout=10)
        with open(tmp.name) as f:
            rows: list[list[tuple[str, float]]] = json.load(f)
    lines = [
        f"{venue}: thread CPU µs per step of the submit path (median over {orders} orders per route; "
        "each step ends at the checkpoint named)"
    ]
    for route in routes:
        mine = [r for r in rows if any(n.endswith(f"({route.upper()})") for n, _ in r)]
        if not mine:
            continue
        steps: dict[str, list[float]] = {}
        for r in mine:
            for name, us in r:
                steps.setdefault(name, []).append(us)
        lines.append(f"  {route.upper()}:")
        for name, values in steps.items():
            lines.append(f"    {name:<40} {statistics.median(values):7.1f}")
        ours = [sum(us for n, us in r[2:] if not n.startswith("aiohttp to")) for r in mine]
        wire = [sum(us for _, us in r[2:]) for r in mine]
        lines.append(f"    {'= ours (our task to aiohttp)':<40} {statistics.median(ours):7.1f}")
        lines.append(f"    {'= to the socket':<40} {statistics.median(wire):7.1f}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "node":
        _node(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venue", choices=["binance", "bingx"])
    parser.add_argument("--orders", type=int, default=60)
    args = parser.parse_args()
    for venue in (args.venue,) if args.venue else ("binance", "bingx"):
        print(run(venue, args.orders))


if __name__ == "__main__":
    main()
