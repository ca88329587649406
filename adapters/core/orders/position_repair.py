"""Repair NautilusTrader 1.221's Redis write gap at startup: fills an order holds that its position lacks.

NautilusTrader writes an order's fill and the position it changes to Redis as two separate commands
(``ExecutionEngine._apply_event_to_order`` -> ``Cache.update_order``, then ``_handle_order_fill`` ->
``Cache.add_position`` / ``update_position``), each handed to a background writer task through a
channel, with no transaction around them. A process killed (SIGKILL, OOM, power) between the two
writes - or with both still queued - restarts from a Redis in which the order shows the fill and the
position does not. The writer takes commands in order, so it is always this way round: the position
lacks the *latest* fills of orders that have them.

NautilusTrader's startup reconciliation then compares the position with the venue's, finds it short
and "corrects" it with an inferred fill on a made-up ``INTERNAL-DIFF`` order: the net position is right
again, but the node now holds a fill the venue never made (and the real fill's commission and PnL sit
on no position). The restart drill (``adapters.testkit.restart_drill``) hits this in most seeds.

So on connect - after the cache has been loaded from Redis, before NautilusTrader reconciles - each
execution client re-applies to its positions the fills its orders hold and their positions lack,
exactly as the engine would have (open, update, reopen after flat), and writes the positions back.
NautilusTrader then finds positions that agree with the venue and infers nothing.

Which fills are missing: a fill whose position does not exist; the opening part of a fill that took a
netting position through zero (the engine splits it in two under one trade id, and only the closing
part was written); or a fill whose trade id the position does not hold and which the node handled after
the position's last fill (``ts_init``: the engine applies fills
in the order it receives them, and the lost writes are always the last ones). The second condition
keeps fills of an earlier life of a netting position (before it went flat, kept only in snapshots that
are not in Redis) from being applied twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import PositionId, Venue
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.model.position import Position


@dataclass(frozen=True, slots=True)
class MissingFill:
    client_order_id: str
    trade_id: str
    position_id: str
    fill: OrderFilled
    flip: bool = False  # the opening part of a flip: a new life of the position, as the engine opens it


def missing_position_fills(cache: Any, venue: Venue | None = None) -> list[MissingFill]:
    """Fills the cache's orders (of ``venue``) hold and their positions lack, oldest first."""
    missing: list[MissingFill] = []
    for order in cache.orders(venue=venue):
        for event in order.events:
            if not isinstance(event, OrderFilled) or event.position_id is None:
                continue
            if event.instrument_id.is_spread():
                continue  # NautilusTrader keeps no position for a spread
            position = cache.position(event.position_id)
            if position is not None:
                if event.trade_id in position.trade_ids:
                    remainder = _flip_remainder(position, event)
                    if remainder is None:
                        continue
                    missing.append(
                        MissingFill(
                            order.client_order_id.value,
                            remainder.trade_id.value,
                            event.position_id.value,
                            remainder,
                            flip=True,
                        )
                    )
                    continue
                else:
                    last = position.last_event
                    if last is not None and event.ts_init < last.ts_init:
                        continue  # an earlier life of the position (before it went flat)
            missing.append(
                MissingFill(order.client_order_id.value, event.trade_id.value, event.position_id.value, event)
            )
    missing.sort(key=lambda m: m.fill.ts_init)
    return missing


def _flip_remainder(position: Position, fill: OrderFilled) -> OrderFilled | None:
    """The opening part of a flip whose write was lost, or None.

    A fill that takes a netting position through zero is split by the engine into a closing fill and
    an opening fill *with the same trade id*, written as two position writes (``update_position``, then
    ``add_position`` of the position's next life). Killed between them, Redis holds a position closed
    by part of the fill: the trade id is there, its quantity is not all there. (Written in full, the
    restored position is the next life, opened by that trade id: nothing is missing.)"""
    last = position.last_event
    if not position.is_closed or last is None or last.trade_id != fill.trade_id:
        return None
    held = sum((e.last_qty.as_decimal() for e in position.events if e.trade_id == fill.trade_id), Decimal(0))
    qty = fill.last_qty.as_decimal() - held
    if qty <= 0:
        return None
    share = qty / fill.last_qty.as_decimal()
    return OrderFilled(
        trader_id=fill.trader_id,
        strategy_id=fill.strategy_id,
        instrument_id=fill.instrument_id,
        client_order_id=fill.client_order_id,
        venue_order_id=fill.venue_order_id,
        account_id=fill.account_id,
        trade_id=fill.trade_id,
        position_id=fill.position_id,
        order_side=fill.order_side,
        order_type=fill.order_type,
        last_qty=Quantity(qty, fill.last_qty.precision),
        last_px=fill.last_px,
        currency=fill.currency,
        commission=Money(fill.commission.as_decimal() * share, fill.commission.currency),
        liquidity_side=fill.liquidity_side,
        event_id=UUID4(),
        ts_event=fill.ts_event,
        ts_init=fill.ts_init,
    )


def repair_positions(cache: Any, venue: Venue, oms_type: OmsType, log: logging.Logger) -> list[MissingFill]:
    """Apply every missing fill to its position (created when absent) and write it back to the cache
    (and so to Redis). Returns what was repaired."""
    missing = missing_position_fills(cache, venue)
    for m in missing:
        fill = m.fill
        position = cache.position(fill.position_id)
        if position is None or m.flip:
            instrument = cache.instrument(fill.instrument_id)
            if instrument is None:
                log.warning(
                    "cannot repair position %s: instrument %s not in cache", m.position_id, fill.instrument_id
                )
                continue
            if position is not None:
                cache.snapshot_position(position)  # the closed life, as the engine keeps it at a flip
            cache.add_position(Position(instrument, fill), oms_type)
        else:
            if position.is_closed:
                cache.snapshot_position(position)  # as the engine does before reopening
            position.apply(fill)
            cache.update_position(position)
    if missing:
        log.warning(
            "restored cache: %d fill(s) of orders were missing from their positions (NautilusTrader's "
            "Redis write gap after an unclean stop); applied them: %s",
            len(missing),
            ", ".join(f"{m.client_order_id}/{m.trade_id} -> {m.position_id}" for m in missing[:10]),
        )
    return missing


def position_trade_ids(cache: Any, position_id: str) -> list[str]:
    """The trade ids a cached position holds (for tests and the drill's report)."""
    position = cache.position(PositionId(position_id))
    return [t.value for t in position.trade_ids] if position is not None else []
