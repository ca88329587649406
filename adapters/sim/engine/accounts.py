"""Accounts and margin: balances, positions, leverage, margin type and position mode, the checks
an order must pass against them (price and quantity filters, reduce-only, available margin), deposits
and margin calls."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal

from adapters.sim import ledger
from adapters.sim.engine.core import EngineCore
from adapters.sim.model import (
    Account,
    AccountConfigEvent,
    AccountEvent,
    MarginCallEvent,
    MarginType,
    Position,
    PositionSide,
    RejectReason,
    Side,
    SymbolSpec,
    VenueReject,
)

DEFAULT_LEVERAGE = 20


class AccountsEngine(EngineCore):
    # --- accounts ----------------------------------------------------------------------------
    def create_account(
        self,
        account_id: str,
        *,
        asset: str = "USDT",
        balance: Decimal = Decimal("100000"),
        maker_commission: Decimal = Decimal("0.0002"),
        taker_commission: Decimal = Decimal("0.0005"),
        hedge_mode: bool = False,
    ) -> Account:
        if account_id in self._accounts:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"account {account_id} exists")
        acct = Account(
            account_id=account_id,
            asset=asset,
            wallet_balance=balance,
            maker_commission=maker_commission,
            taker_commission=taker_commission,
            hedge_mode=hedge_mode,
            update_time_ms=self._now(),
        )
        self._accounts[account_id] = acct
        self._account_orders[account_id] = []
        self._open_orders[account_id] = {}
        self._account_algos[account_id] = []
        return self.account(account_id)

    def _acct(self, account_id: str) -> Account:
        acct = self._accounts.get(account_id)
        if acct is None:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"unknown account {account_id}")
        return acct

    def account(self, account_id: str) -> Account:
        """A copy: callers cannot change the venue through it."""
        acct = self._acct(account_id)
        return replace(
            acct,
            leverage=dict(acct.leverage),
            margin_type=dict(acct.margin_type),
            positions={k: copy.copy(p) for k, p in acct.positions.items()},
        )

    def _leverage(self, acct: Account, symbol: str) -> int:
        return acct.leverage.get(symbol, DEFAULT_LEVERAGE)

    def _slots(self, acct: Account) -> tuple[PositionSide, ...]:
        return (PositionSide.LONG, PositionSide.SHORT) if acct.hedge_mode else (PositionSide.BOTH,)

    def _position(self, acct: Account, symbol: str, position_side: PositionSide) -> Position:
        key = (symbol, position_side)
        pos = acct.positions.get(key)
        if pos is None:
            pos = acct.positions[key] = Position(symbol=symbol, position_side=position_side)
        return pos

    @staticmethod
    def _peek_position(acct: Account, symbol: str, position_side: PositionSide) -> Position:
        """Read-only view: a flat stand-in for a slot never traded, so queries and rejected
        requests leave the account exactly as it was."""
        pos = acct.positions.get((symbol, position_side))
        return pos if pos is not None else Position(symbol=symbol, position_side=position_side)

    def set_position_mode(self, account_id: str, hedge_mode: bool) -> None:
        """Rejects POSITION_MODE_CHANGE_WITH_OPEN with open orders or positions."""
        acct = self._acct(account_id)
        if acct.hedge_mode == hedge_mode:
            return
        has_algos = any(self._algos[a].is_open for a in self._account_algos[account_id])
        has_position = any(p.amount != 0 for p in acct.positions.values())
        if self._open_orders[account_id] or has_algos or has_position:
            raise VenueReject(RejectReason.POSITION_MODE_CHANGE_WITH_OPEN)
        acct.hedge_mode = hedge_mode
        acct.positions.clear()  # all flat: the new mode's slots are created on demand
        acct.update_time_ms = self._now()

    def set_leverage(self, account_id: str, symbol: str, leverage: int) -> int:
        """Publishes AccountConfigEvent. Returns the leverage set."""
        acct = self._acct(account_id)
        spec = self._spec(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise VenueReject(RejectReason.INVALID_LEVERAGE, f"{leverage} not in 1..{spec.max_leverage}")
        acct.leverage[symbol] = leverage
        self._emit(AccountConfigEvent(account_id, self._now(), symbol, leverage))
        return leverage

    def set_margin_type(self, account_id: str, symbol: str, margin_type: MarginType) -> None:
        acct = self._acct(account_id)
        self._spec(symbol)
        busy = any(self._orders[o].symbol == symbol for o in self._open_orders[account_id]) or any(
            p.amount != 0 for (s, _), p in acct.positions.items() if s == symbol
        )
        if busy and acct.margin_type.get(symbol, MarginType.CROSSED) != margin_type:
            # Binance -4047/-4048: margin type is fixed while orders or a position exist.
            raise VenueReject(RejectReason.INVALID_PARAMETER, "open orders or position on symbol")
        acct.margin_type[symbol] = margin_type

    def positions(self, account_id: str, symbol: str | None = None) -> list[Position]:
        """All position slots (including flat ones) for the account's mode: one BOTH per symbol
        in one-way mode, LONG and SHORT per symbol in hedge mode."""
        acct = self._acct(account_id)
        symbols = [self._spec(symbol).symbol] if symbol is not None else list(self._specs)
        return [copy.copy(self._peek_position(acct, s, ps)) for s in symbols for ps in self._slots(acct)]

    def unrealized_pnl(self, account_id: str, symbol: str, position_side: PositionSide) -> Decimal:
        acct = self._acct(account_id)
        self._spec(symbol)
        return ledger.unrealized(
            self._peek_position(acct, symbol, position_side), self._markets[symbol].mark_price
        )

    def available_balance(self, account_id: str) -> Decimal:
        """Wallet + unrealized PnL - initial margin of positions and open orders."""
        acct = self._acct(account_id)
        total = acct.wallet_balance
        for (symbol, _), pos in acct.positions.items():
            if pos.amount != 0:
                mark = self._markets[symbol].mark_price
                total += ledger.unrealized(pos, mark)
                total -= ledger.initial_margin(pos.amount * mark, self._leverage(acct, symbol))
        for oid in self._open_orders[account_id]:
            order = self._orders[oid]
            total -= ledger.initial_margin(order.leaves_qty * order.price, self._leverage(acct, order.symbol))
        return total

    # --- validation helpers ------------------------------------------------------------------
    @staticmethod
    def _check_price(spec: SymbolSpec, price: Decimal | None, what: str = "price") -> Decimal:
        if price is None:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"{what} is required")
        if price <= 0 or price < spec.min_price or price > spec.max_price or price % spec.tick_size != 0:
            raise VenueReject(RejectReason.PRICE_FILTER, f"{what} {price}")
        return price

    @staticmethod
    def _check_qty(spec: SymbolSpec, qty: Decimal, market: bool) -> None:
        if market:
            step, lo, hi, reason = (
                spec.market_step_size,
                spec.market_min_qty,
                spec.market_max_qty,
                RejectReason.MARKET_LOT_SIZE,
            )
        else:
            step, lo, hi, reason = spec.step_size, spec.min_qty, spec.max_qty, RejectReason.LOT_SIZE
        if qty <= 0 or qty < lo or qty > hi or qty % step != 0:
            raise VenueReject(reason, f"quantity {qty}")

    @staticmethod
    def _check_position_side(acct: Account, position_side: PositionSide, reduce_only: bool) -> None:
        if acct.hedge_mode == (position_side is PositionSide.BOTH):
            raise VenueReject(
                RejectReason.POSITION_SIDE_MISMATCH,
                f"{position_side} in {'hedge' if acct.hedge_mode else 'one-way'} mode",
            )
        if acct.hedge_mode and reduce_only:
            # Binance -1106: in hedge mode the position side already says open or close.
            raise VenueReject(RejectReason.INVALID_PARAMETER, "reduceOnly not allowed in hedge mode")

    @staticmethod
    def _closes(side: Side, position_side: PositionSide, reduce_only: bool) -> bool:
        """Orders that may only shrink a position: reduce-only, and hedge-mode closing orders."""
        if position_side is PositionSide.LONG:
            return side is Side.SELL
        if position_side is PositionSide.SHORT:
            return side is Side.BUY
        return reduce_only

    def _reducible(self, acct: Account, symbol: str, side: Side, position_side: PositionSide) -> Decimal:
        return ledger.reducible(self._peek_position(acct, symbol, position_side), side)

    def _reference_price(self, symbol: str, side: Side) -> Decimal:
        market = self._markets[symbol]
        best = market.best(side)
        return market.px(best) if best is not None else market.last_price

    def _check_margin(self, acct: Account, symbol: str, notional: Decimal) -> None:
        need = ledger.initial_margin(notional, self._leverage(acct, symbol))
        available = self.available_balance(acct.account_id)
        if need > available:
            raise VenueReject(RejectReason.INSUFFICIENT_MARGIN, f"need {need}, available {available}")

    def _would_take(self, symbol: str, side: Side, price: Decimal) -> bool:
        market = self._markets[symbol]
        best = market.best(side)
        if best is None:
            return False
        ticks = market.to_ticks(price)
        return best <= ticks if side is Side.BUY else best >= ticks

    def deposit(self, account_id: str, amount: Decimal, *, reason: str = "DEPOSIT") -> Account:
        """Credits (or, negative, debits) the wallet; publishes AccountEvent with ``balance_change``
        (an addition to the contract, for demo-credit endpoints such as BingX's VST faucet)."""
        acct = self._acct(account_id)
        if amount == 0 or acct.wallet_balance + amount < 0:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"amount {amount}")
        now = self._now()
        acct.wallet_balance += amount
        acct.update_time_ms = now
        self._emit(
            AccountEvent(
                account_id=account_id,
                time_ms=now,
                reason=reason,
                wallet_balance=acct.wallet_balance,
                cross_wallet_balance=acct.wallet_balance,
                balance_change=amount,
                positions=(),
            )
        )
        return self.account(account_id)

    def emit_margin_call(self, account_id: str) -> None:
        acct = self._acct(account_id)
        positions = tuple(copy.copy(p) for p in acct.positions.values() if p.amount != 0)
        self._emit(MarginCallEvent(account_id, self._now(), acct.wallet_balance, positions))
