"""Position and money arithmetic: average entry, realized/unrealized PnL, commission, margin.

Pure functions over the model's ``Position``; the engine owns accounts and decides when to call
them. Money is rounded to 8 decimals (what Binance prints for balances, PnL and commission);
derived prices (entry, average, break-even) keep six digits beyond the contract's precision so
PnL computed from them stays exact to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from adapters.sim.model import Position, Side

MONEY_QUANTUM = Decimal("1e-8")
ZERO = Decimal(0)


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def derived_price(value: Decimal, price_precision: int) -> Decimal:
    """Round a computed price to precision+6 places, then drop trailing zeros down to the
    contract's precision so "60000.5" prints as "60000.50", not "60000.50000000"."""
    rounded = value.quantize(Decimal(1).scaleb(-(price_precision + 6)), rounding=ROUND_HALF_UP)
    normal = rounded.normalize()
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent < price_precision:
        return rounded.quantize(Decimal(1).scaleb(-price_precision))
    return normal


def commission(price: Decimal, qty: Decimal, rate: Decimal) -> Decimal:
    return money(price * qty * rate)


def reducible(position: Position, side: Side) -> Decimal:
    """How much an order on ``side`` can reduce this position (0 if it would only add)."""
    if side is Side.BUY:
        return max(ZERO, -position.amount)
    return max(ZERO, position.amount)


def break_even(entry: Decimal, amount: Decimal, taker_rate: Decimal, price_precision: int) -> Decimal:
    """The price at which closing with a taker order recovers the taker fees of the round trip."""
    if amount == 0:
        return ZERO
    if amount > 0:
        return derived_price(entry * (1 + taker_rate) / (1 - taker_rate), price_precision)
    return derived_price(entry * (1 - taker_rate) / (1 + taker_rate), price_precision)


def apply_fill(
    position: Position,
    side: Side,
    qty: Decimal,
    price: Decimal,
    taker_rate: Decimal,
    price_precision: int,
    time_ms: int,
) -> Decimal:
    """Move the position by one fill; returns the realized PnL of the part that reduced it."""
    signed = qty if side is Side.BUY else -qty
    amount = position.amount
    entry = position.entry_price
    realized = ZERO
    new_amount = amount + signed
    if amount == 0 or (amount > 0) == (signed > 0):
        entry = derived_price((abs(amount) * entry + qty * price) / abs(new_amount), price_precision)
    else:
        closed = min(qty, abs(amount))
        direction = 1 if amount > 0 else -1
        realized = money(closed * (price - entry) * direction)
        if new_amount == 0:
            entry = ZERO
        elif (new_amount > 0) != (amount > 0):
            entry = price  # flipped: the remainder opened at this fill's price
    position.amount = new_amount
    position.entry_price = entry
    position.break_even_price = break_even(entry, new_amount, taker_rate, price_precision)
    position.realized_pnl += realized
    position.update_time_ms = time_ms
    return realized


def unrealized(position: Position, mark: Decimal) -> Decimal:
    if position.amount == 0:
        return ZERO
    return money(position.amount * (mark - position.entry_price))


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    return money(abs(notional) / leverage)
