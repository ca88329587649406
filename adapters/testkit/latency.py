"""Submit -> OrderAccepted latency over loopback, WS trading API vs REST, measured in one run.

    async with SimNode(exec_config={"use_ws_trading": True}) as env:
        result = await measure_submit_latency(env, n=200)
        print(result.table())

The node must run with ``use_ws_trading=True``. Orders alternate between the two routes (the exec
client's ``route_orders_via_ws`` switch; the order of the pair flips every round) so both see the
same venue, book and machine load. Each sample is a GTC LIMIT buy well below the market (it rests):
time from ``submit_order`` to the strategy receiving ``OrderAccepted`` (wall clock,
``perf_counter``), then the order is cancelled (not timed) before the next one.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderAccepted, OrderDenied, OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId

from adapters.testkit.node import SimNode


@dataclass(frozen=True, slots=True)
class LatencyStats:
    route: str
    count: int
    p50: float  # milliseconds
    p99: float
    mean: float
    min: float
    max: float

    @staticmethod
    def of(route: str, samples_ms: list[float]) -> LatencyStats:
        if not samples_ms:
            return LatencyStats(route, 0, math.nan, math.nan, math.nan, math.nan, math.nan)
        s = sorted(samples_ms)
        return LatencyStats(
            route,
            len(s),
            _quantile(s, 0.50),
            _quantile(s, 0.99),
            statistics.fmean(s),
            s[0],
            s[-1],
        )


@dataclass(frozen=True, slots=True)
class LatencyComparison:
    ws: LatencyStats
    rest: LatencyStats

    def table(self) -> str:
        rows = ["route  count   p50 ms   p99 ms  mean ms   min ms   max ms"]
        for st in (self.ws, self.rest):
            rows.append(
                f"{st.route:<5} {st.count:>6} {st.p50:>8.3f} {st.p99:>8.3f} {st.mean:>8.3f} "
                f"{st.min:>8.3f} {st.max:>8.3f}"
            )
        return "\n".join(rows)


def _quantile(sorted_samples: list[float], q: float) -> float:
    """Nearest-rank quantile."""
    rank = max(1, math.ceil(q * len(sorted_samples)))
    return sorted_samples[rank - 1]


async def measure_submit_latency(
    env: SimNode,
    n: int = 200,
    instrument_id: str = "BTCUSDT-PERP.BINANCE",
    quantity: str = "0.010",
    below: str = "0.8",
    within: float = 10.0,
    min_interval: float = 0.036,
) -> LatencyComparison:
    """``n`` samples per route, interleaved. Raises if the WS route is not configured.

    ``min_interval`` paces submissions below Binance's 300 orders / 10 s (the shared rate-limit
    tracker would otherwise hold an order until the window rolls, measuring the wait, not the
    route) and the RiskEngine's 100 orders/s throttle; the pause lies outside each timed sample."""
    client = env.exec_client
    ws = client.ws_trading
    if ws is None:
        raise ValueError("the node must run with use_ws_trading=True")
    assert env.node is not None
    accepted_at: dict[ClientOrderId, int] = {}
    done = asyncio.Event()
    waiting: list[ClientOrderId | None] = [None]

    def on_event(event: Any) -> None:
        if isinstance(event, OrderAccepted | OrderRejected | OrderDenied):
            accepted_at.setdefault(event.client_order_id, time.perf_counter_ns())
            if event.client_order_id == waiting[0]:
                done.set()

    msgbus = env.node.kernel.msgbus
    msgbus.subscribe(topic="events.order.*", handler=on_event)
    samples: dict[str, list[float]] = {"ws": [], "rest": []}
    saved = client.route_orders_via_ws
    try:
        async with asyncio.timeout(within):
            await ws.wait_ready()
        last = env.sim.engine.last_price(instrument_id.split("-")[0])
        price = str((last * Decimal(below)).quantize(Decimal("0.1")))
        next_at = 0.0
        for i in range(n):
            pair = ("ws", "rest") if i % 2 == 0 else ("rest", "ws")
            for route in pair:
                client.route_orders_via_ws = route == "ws"
                done.clear()
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at = time.perf_counter() + min_interval
                t0 = time.perf_counter_ns()
                cid = env.strategy.limit(instrument_id, OrderSide.BUY, quantity, price)
                waiting[0] = cid
                if cid not in accepted_at:
                    async with asyncio.timeout(within):
                        await done.wait()
                if env.order(cid).status != OrderStatus.ACCEPTED:
                    raise RuntimeError(f"latency probe order {cid} was not accepted: {env.order(cid).status}")
                samples[route].append((accepted_at[cid] - t0) / 1e6)
                env.strategy.cancel(cid)
                await env.wait_until(
                    lambda c=cid: env.order(c).status == OrderStatus.CANCELED,  # type: ignore[misc]
                    within=within,
                    what="probe order canceled",
                )
    finally:
        client.route_orders_via_ws = saved
        msgbus.unsubscribe(topic="events.order.*", handler=on_event)
    return LatencyComparison(LatencyStats.of("ws", samples["ws"]), LatencyStats.of("rest", samples["rest"]))
