"""NautilusTrader 1.221's Redis write gap, shown on a real Redis, and its repair at startup.

The engine writes an order's fill (``Cache.update_order``) and the position it changes
(``Cache.add_position`` / ``update_position``) as two separate commands to the Redis writer task. A node
killed between the two restarts with an order that has the fill and a position that does not; its
reconciliation would then infer an ``INTERNAL-DIFF`` fill. ``repair_positions`` (run by our execution
clients on connect, before that reconciliation) applies the missing fill to the position instead."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.cache.database import CacheDatabaseAdapter
from nautilus_trader.common.config import DatabaseConfig
from nautilus_trader.config import CacheConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OmsType, OrderSide
from nautilus_trader.model.identifiers import ClientOrderId, PositionId, TradeId, TraderId, Venue
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.serialization.serializer import MsgSpecSerializer
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from adapters.core.orders.position_repair import missing_position_fills, repair_positions

INSTRUMENT = TestInstrumentProvider.btcusdt_perp_binance()
BINANCE = Venue("BINANCE")
POSITION = PositionId("BTCUSDT-PERP.BINANCE-S-000")
LOG = logging.getLogger("test.position_repair")


def redis_cache(server: Any, trader: str) -> tuple[Cache, CacheDatabaseAdapter]:
    """A cache on NautilusTrader's own Redis adapter, as a TradingNode builds it; loaded from Redis."""
    config = CacheConfig(database=DatabaseConfig(type="redis", host=server.host, port=server.port))
    serializer = MsgSpecSerializer(encoding=msgspec.msgpack, timestamps_as_str=True)
    db = CacheDatabaseAdapter(TraderId(trader), UUID4(), serializer, config)
    cache = Cache(database=db, config=config)
    # What ExecutionEngine.load_cache does when a TradingNode builds (not Cache.cache_all: in 1.221
    # its bulk load_all finds nothing in a Redis the node loads fine).
    cache.cache_general()
    cache.cache_currencies()
    cache.cache_instruments()
    cache.cache_accounts()
    cache.cache_orders()
    cache.cache_positions()
    cache.build_index()
    return cache, db


_ids = iter(range(1, 1_000))


def accepted_order(cache: Cache, side: OrderSide = OrderSide.BUY, qty: str = "0.010") -> Any:
    """An order added and accepted as the engine does it: each event written as it is applied."""
    order = TestExecStubs.limit_order(
        instrument=INSTRUMENT,
        order_side=side,
        price=Price.from_str("60000.0"),
        quantity=Quantity.from_str(qty),
        client_order_id=ClientOrderId(f"O-GAP-{next(_ids)}"),
    )
    cache.add_order(order)
    for event in (TestEventStubs.order_submitted(order), TestEventStubs.order_accepted(order)):
        order.apply(event)
        cache.update_order(order)
    return order


def fill(order: Any, trade_id: str, qty: str) -> Any:
    return TestEventStubs.order_filled(
        order,
        INSTRUMENT,
        trade_id=TradeId(trade_id),
        position_id=POSITION,
        last_qty=Quantity.from_str(qty),
        last_px=Price.from_str("60000.0"),
    )


def test_a_kill_between_the_order_and_the_position_write_leaves_redis_inconsistent_and_we_repair_it(
    redis_server: Any,
) -> None:
    redis_server.flush()
    # The first life of the node: what the execution engine writes, in its order, through the cache.
    cache, db = redis_cache(redis_server, "GAP-001")
    cache.add_instrument(INSTRUMENT)
    order = accepted_order(cache)
    first = fill(order, "1", "0.004")
    order.apply(first)
    cache.update_order(order)  # _apply_event_to_order
    cache.add_position(Position(INSTRUMENT, first), OmsType.NETTING)  # _handle_order_fill
    second = fill(order, "2", "0.006")
    order.apply(second)
    cache.update_order(order)  # written...
    # ... and the process dies before _handle_order_fill's update_position(position) is written.
    db.close()  # drains what was handed to the writer task (a SIGKILL would drop even less)

    # The restarted node loads Redis: the order says 0.010 filled, the position 0.004.
    restored, db2 = redis_cache(redis_server, "GAP-001")
    restored_order = restored.order(order.client_order_id)
    position = restored.position(POSITION)
    assert restored_order.filled_qty == Quantity.from_str("0.010")
    assert position.quantity == Quantity.from_str("0.004")
    assert [t.value for t in position.trade_ids] == ["1"]
    gap = missing_position_fills(restored, BINANCE)
    assert [(m.trade_id, m.position_id) for m in gap] == [("2", POSITION.value)]
    # NautilusTrader's position reconciliation would now see 0.004 against the venue's 0.010 and
    # infer a 0.006 INTERNAL-DIFF fill. Our connect-time repair applies the real fill instead.
    repaired = repair_positions(restored, BINANCE, OmsType.NETTING, LOG)
    assert [m.trade_id for m in repaired] == ["2"]
    assert restored.position(POSITION).quantity == Quantity.from_str("0.010")
    assert restored.position(POSITION).signed_decimal_qty() == Decimal("0.010")
    assert missing_position_fills(restored, BINANCE) == []
    db2.close()

    # The repair was written back: a third life finds Redis consistent.
    third, db3 = redis_cache(redis_server, "GAP-001")
    assert [t.value for t in third.position(POSITION).trade_ids] == ["1", "2"]
    assert missing_position_fills(third, BINANCE) == []
    db3.close()


def test_a_lost_position_is_created_from_the_fills_of_its_orders(redis_server: Any) -> None:
    redis_server.flush()
    cache, db = redis_cache(redis_server, "GAP-002")
    cache.add_instrument(INSTRUMENT)
    order = accepted_order(cache)
    order.apply(fill(order, "7", "0.010"))
    cache.update_order(order)  # the add_position after it is lost with the process
    db.close()
    restored, db2 = redis_cache(redis_server, "GAP-002")
    assert restored.position(POSITION) is None
    repaired = repair_positions(restored, BINANCE, OmsType.NETTING, LOG)
    assert [m.trade_id for m in repaired] == ["7"]
    assert restored.position(POSITION).signed_decimal_qty() == Decimal("0.010")
    db2.close()


def at(event: Any, ts_init: int) -> Any:
    """The event as the engine would have stamped it when it handled it (``ts_init``)."""
    data = type(event).to_dict(event)
    data["ts_init"] = ts_init
    return type(event).from_dict(data)


def test_fills_of_an_earlier_life_of_a_netting_position_are_not_applied_again() -> None:
    """A netting position that went flat and reopened holds only the fills since it reopened (the
    earlier ones sit in snapshots, which Redis does not hold): they are older than its last fill and
    not 'missing'. A fill handled after its last one is."""
    cache = Cache()
    cache.add_instrument(INSTRUMENT)
    fills = []
    for n, side in enumerate((OrderSide.BUY, OrderSide.SELL, OrderSide.BUY), start=1):
        order = accepted_order(cache, side)
        f = at(fill(order, str(n), "0.010" if n < 3 else "0.005"), ts_init=n)
        order.apply(f)
        fills.append((order, f))
    # What Redis restores after the flat (trade 2) and the reopening (trade 3): the new life only.
    cache.add_position(Position(INSTRUMENT, fills[2][1]), OmsType.NETTING)
    assert missing_position_fills(cache, BINANCE) == []
    # A later fill of the reopening order, whose position write was lost, is missing.
    order = fills[2][0]
    late = at(fill(order, "4", "0.005"), ts_init=4)
    order.apply(late)
    assert [m.trade_id for m in missing_position_fills(cache, BINANCE)] == ["4"]
    repair_positions(cache, BINANCE, OmsType.NETTING, LOG)
    assert [t.value for t in cache.position(POSITION).trade_ids] == ["3", "4"]


def test_a_flip_cut_between_its_two_position_writes_is_repaired(redis_server: Any) -> None:
    """A fill taking a netting position through zero is split by the engine into a closing and an
    opening fill under ONE trade id (two position writes). Killed between them, Redis holds the
    position closed by the first part: the trade id is there, the opening part is not."""
    redis_server.flush()
    cache, db = redis_cache(redis_server, "GAP-003")
    cache.add_instrument(INSTRUMENT)
    short = accepted_order(cache, OrderSide.SELL)
    opened = at(fill(short, "1", "0.005"), ts_init=1)  # stamped as the engine handled them
    short.apply(opened)
    cache.update_order(short)
    position = Position(INSTRUMENT, opened)
    cache.add_position(position, OmsType.NETTING)
    buy = accepted_order(cache, OrderSide.BUY)
    full = at(fill(buy, "2", "0.010"), ts_init=2)  # the venue's trade: BUY 0.010 against a 0.005 short
    buy.apply(full)
    cache.update_order(buy)
    position.apply(at(fill(buy, "2", "0.005"), ts_init=2))  # the engine's closing part...
    cache.update_position(position)
    # ... and the process dies before the opening part's add_position is written.
    db.close()

    restored, db2 = redis_cache(redis_server, "GAP-003")
    assert restored.position(POSITION).is_closed  # flat, where the venue has +0.005
    gap = missing_position_fills(restored, BINANCE)
    assert [(m.trade_id, str(m.fill.last_qty)) for m in gap] == [("2", "0.005")]
    repair_positions(restored, BINANCE, OmsType.NETTING, LOG)
    assert restored.position(POSITION).signed_decimal_qty() == Decimal("0.005")
    assert missing_position_fills(restored, BINANCE) == []
    db2.close()


def test_a_flip_written_in_full_is_left_alone() -> None:
    cache = Cache()
    cache.add_instrument(INSTRUMENT)
    short = accepted_order(cache, OrderSide.SELL)
    opened = at(fill(short, "1", "0.005"), ts_init=1)
    short.apply(opened)
    buy = accepted_order(cache, OrderSide.BUY, "0.012")
    full = at(fill(buy, "2", "0.012"), ts_init=2)
    buy.apply(full)
    # What Redis restores after a flip written in full: the next life, opened by the second part.
    cache.add_position(Position(INSTRUMENT, at(fill(buy, "2", "0.007"), ts_init=2)), OmsType.NETTING)
    assert missing_position_fills(cache, BINANCE) == []
