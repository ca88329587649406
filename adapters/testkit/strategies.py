"""Example strategies shared by the runnable examples (examples/nodes, paper trading, backtest).

``FlipFlop`` is deliberately simple and deterministic: every ``every_n_quotes`` quotes it sends one
market order that alternates between opening a long and closing it, until it has sent
``max_orders`` orders. It trades the same way on a live (simulated) feed, in the sandbox and in a
backtest, which is what the examples compare.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.trading.strategy import Strategy


class FlipFlopConfig(StrategyConfig, frozen=True):
    """``instrument_id`` as a string (``"BTCUSDT-PERP.BINANCE"``) so that the config is importable
    from JSON/TOML as well as from Python."""

    instrument_id: str
    trade_size: Decimal = Decimal("0.010")
    every_n_quotes: int = 5
    max_orders: int = 6
    close_on_stop: bool = True


class FlipFlop(Strategy):
    """Buy, sell, buy, sell... one market order every ``every_n_quotes`` quote ticks."""

    def __init__(self, config: FlipFlopConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.trade_size = config.trade_size
        self.every_n_quotes = config.every_n_quotes
        self.max_orders = config.max_orders
        self.close_on_stop = config.close_on_stop
        self.instrument: Instrument | None = None
        self.quotes = 0
        self.orders_sent = 0
        self.fills: list[OrderFilled] = []

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.instrument_id)
        if self.instrument is None:
            self.log.error(f"no instrument {self.instrument_id} in the cache: not trading")
            return
        self.subscribe_quote_ticks(self.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes += 1
        if self.quotes % self.every_n_quotes or self.orders_sent >= self.max_orders:
            return
        if self.cache.orders_inflight(strategy_id=self.id) or self.cache.orders_open(strategy_id=self.id):
            return  # the previous order has not finished yet
        assert self.instrument is not None
        side = OrderSide.BUY if self.orders_sent % 2 == 0 else OrderSide.SELL
        order = self.order_factory.market(
            self.instrument_id,
            side,
            self.instrument.make_qty(self.trade_size),
            reduce_only=side == OrderSide.SELL,
        )
        self.orders_sent += 1
        self.submit_order(order)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills.append(event)

    @property
    def done(self) -> bool:
        """Every order sent and every one of them filled (or otherwise closed)."""
        orders = self.cache.orders(strategy_id=self.id)
        return self.orders_sent >= self.max_orders and all(order.is_closed for order in orders)

    def filled_orders(self) -> int:
        return sum(1 for order in self.cache.orders(strategy_id=self.id) if order.status_string() == "FILLED")

    def on_stop(self) -> None:
        if self.close_on_stop:
            self.cancel_all_orders(self.instrument_id)
            self.close_all_positions(self.instrument_id)
