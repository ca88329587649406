"""Submit → OrderAccepted over loopback against the simulator, contenders side by side in one run.

* **ours, REST** — our execution client (``POST /fapi/v1/order``; the REST answer is the acceptance);
* **ours, WebSocket trading** — the same client with ``use_ws_trading=True``, routed per order through
  the WS trading API (``route_orders_via_ws``, as ``adapters/testkit/latency.py`` does);
* **built-in, REST** — NautilusTrader 1.221's Binance adapter (REST submit, acceptance from the user
  stream's ORDER_TRADE_UPDATE NEW).

Both nodes run at the same time on one event loop against two simulators; submits rotate among the
three contenders one at a time (each waits for its acceptance, then the order is canceled, untimed),
paced at 36 ms so neither Binance's 300 orders / 10 s nor the RiskEngine's throttle ever holds one.
The time is
taken from just before ``Strategy.submit_order`` to the moment the ``OrderAccepted`` event is
published on the node's message bus (``events.order.*``), so polling granularity does not count.

    python -m benchmarks.bench_submit [--orders 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderAccepted

from adapters.testkit.node import SimNode
from benchmarks.common import Section, median, percentile, quiet_logging
from benchmarks.nodes import BuiltinSimNode

BTC = "BTCUSDT-PERP.BINANCE"
PACE_S = 0.036


class Probe:
    """Records when OrderAccepted is published for each client order id."""

    def __init__(self, env: Any, via_ws: bool | None = None) -> None:
        self.env = env
        self.via_ws = via_ws
        self.accepted: dict[str, int] = {}
        env.node.kernel.msgbus.subscribe("events.order.*", self._on_event)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, OrderAccepted):
            self.accepted.setdefault(event.client_order_id.value, time.perf_counter_ns())

    async def submit_one(self, price: Decimal) -> float:
        if self.via_ws is not None:
            self.env.exec_client.route_orders_via_ws = self.via_ws
        t0 = time.perf_counter_ns()
        cid = self.env.strategy.limit(BTC, OrderSide.BUY, "0.002", str(price)).value
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while cid not in self.accepted:
            if loop.time() > deadline:
                raise TimeoutError(f"no OrderAccepted for {cid}")
            await asyncio.sleep(0)
            if cid not in self.accepted:
                await asyncio.sleep(0.0005)
        elapsed = (self.accepted[cid] - t0) / 1e6
        order = self.env.node.cache.order(_cid(cid))
        self.env.strategy.cancel(order.client_order_id)
        while order.status != OrderStatus.CANCELED:
            if loop.time() > deadline:
                raise TimeoutError(f"probe order {cid} not canceled: {order.status} {order.events[-2:]}")
            await asyncio.sleep(0.001)
        return elapsed


def _cid(value: str) -> Any:
    from nautilus_trader.model.identifiers import ClientOrderId

    return ClientOrderId(value)


async def measure(n_orders: int) -> dict[str, list[float]]:
    names = ["ours REST", "ours WebSocket trading", "built-in REST"]
    out: dict[str, list[float]] = {n: [] for n in names}
    ours_config = {"use_ws_trading": True}
    async with (
        SimNode(seed=3, log_level="ERROR", exec_config=ours_config) as ours,
        BuiltinSimNode(seed=3) as builtin,
    ):
        ws = ours.exec_client.ws_trading
        assert ws is not None
        await asyncio.wait_for(ws.wait_ready(), 10)
        probes = {names[0]: Probe(ours, False), names[1]: Probe(ours, True), names[2]: Probe(builtin)}
        price = (ours.sim.engine.last_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1"))
        next_at = 0.0

        async def paced(probe: Probe) -> float:
            nonlocal next_at
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at = time.perf_counter() + PACE_S
            return await probe.submit_one(price)

        for probe in probes.values():  # warm-up: connections, caches
            for _ in range(5):
                await paced(probe)
        for i in range(n_orders):
            rotation = names[i % 3 :] + names[: i % 3]
            for name in rotation:
                out[name].append(await paced(probes[name]))
    return out


def run(n_orders: int = 200) -> Section:
    quiet_logging()
    samples = asyncio.run(measure(n_orders))
    section = Section(
        title="Submit → OrderAccepted over loopback (ms)",
        headers=["path", "p50", "p99", "min", "n", "÷ built-in REST (p50)"],
    )
    base = median(samples["built-in REST"])
    for name, xs in samples.items():
        section.rows.append(
            [
                name,
                f"{median(xs):.2f}",
                f"{percentile(xs, 99):.2f}",
                f"{min(xs):.2f}",
                str(len(xs)),
                f"{median(xs) / base:.2f}x",
            ]
        )
    section.notes += [
        "Both nodes live in one process on one loop against their own simulator;"
        " submits rotate one at a time.",
        "Ours accepts on the REST answer; the built-in adapter waits for the user stream's NEW event.",
    ]
    section.data = {name: {"p50": median(xs), "p99": percentile(xs, 99)} for name, xs in samples.items()}
    return section


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    print(run(args.orders).console())


if __name__ == "__main__":
    main()
