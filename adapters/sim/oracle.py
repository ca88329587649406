"""The oracle: compare what a trading node believes with the venue's ground truth (``/sim/state``).

Used by the end-to-end tests, the demo and the chaos runner. Invariants checked:

* every venue trade of the account appears **exactly once** as a fill in the node (none lost, none
  duplicated, no fill the venue never made), keyed by (symbol, trade id, side): a self-trade is one
  trade id with two sides, so two fills; and each fill sits on the order the venue says it filled;
* every order the node knows has the venue's final status and filled quantity;
* (optionally, ``avg_price=True``) every order's average fill price matches the venue's;
* (optionally, ``positions=True``) the node's net position per instrument matches the venue's (per
  instrument and side for a hedge-mode account);
* (optionally, ``orders_known=True``) every venue order that is open or has filled is known to the
  node (orders placed behind the node's back must be adopted as external orders);
* (optionally, ``balances=True``) the node's wallet balance per asset matches the venue's.

Pure: it reads a ground-truth dict and a NautilusTrader cache, and returns a report.

Venue dialects whose ground truth does not name orders the way the node does are brought into the
oracle's terms first (``check(..., venue="bingx")``, or :func:`normalize_state` directly): BingX
lowercases client order ids, and a BingX modify is a cancel-replace, so one NautilusTrader order is a
chain of venue orders ``<cid>``, ``<cid>-r1``, ``<cid>-r2``... (:func:`normalize_bingx_state`). The
normalisation is idempotent: state that is already normalised comes back unchanged, so a caller that
normalised it itself and passes ``venue="bingx"`` too gets the same report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.enums import OrderStatus, order_side_to_str
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.orders import Order

# Venue status -> the NautilusTrader status a correct node ends in.
_EXPECTED_STATUS = {
    "NEW": {OrderStatus.ACCEPTED, OrderStatus.TRIGGERED},
    "PARTIALLY_FILLED": {OrderStatus.PARTIALLY_FILLED},
    "FILLED": {OrderStatus.FILLED},
    "CANCELED": {OrderStatus.CANCELED},
    "EXPIRED": {OrderStatus.EXPIRED, OrderStatus.CANCELED},
    "EXPIRED_IN_MATCH": {OrderStatus.EXPIRED, OrderStatus.CANCELED},
    "REJECTED": {OrderStatus.REJECTED},
}
_ALGO_OPEN = {"NEW": {OrderStatus.ACCEPTED}, "TRIGGERING": {OrderStatus.ACCEPTED}}
_ALGO_FINAL = {
    "CANCELED": {OrderStatus.CANCELED},
    "EXPIRED": {OrderStatus.EXPIRED, OrderStatus.CANCELED},
    "REJECTED": {OrderStatus.REJECTED},
}


@dataclass(slots=True)
class OracleReport:
    venue_trades: int = 0
    node_fills: int = 0
    # Fills are keyed (symbol, trade id, side).
    lost: list[tuple[str, str, str]] = field(default_factory=list)  # venue trade missing in node
    duplicated: list[tuple[str, str, str]] = field(default_factory=list)  # seen more than once in node
    phantom: list[tuple[str, str, str]] = field(default_factory=list)  # in node, not on venue
    misattributed: list[str] = field(default_factory=list)  # a fill on another order than the venue's
    unknown_orders: list[str] = field(default_factory=list)  # open/filled venue orders the node lacks
    status_mismatches: list[str] = field(default_factory=list)
    filled_mismatches: list[str] = field(default_factory=list)
    avg_price_mismatches: list[str] = field(default_factory=list)
    position_mismatches: list[str] = field(default_factory=list)
    balance_mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.phantom
            or self.misattributed
            or self.unknown_orders
            or self.status_mismatches
            or self.filled_mismatches
            or self.avg_price_mismatches
            or self.position_mismatches
            or self.balance_mismatches
        )

    def violations(self) -> dict[str, int]:
        """Count of each kind of violation (zero counts omitted)."""
        return {n: len(getattr(self, n)) for n in _VIOLATION_NAMES if getattr(self, n)}

    def summary(self) -> str:
        return (
            f"venue trades={self.venue_trades} node fills={self.node_fills} lost={len(self.lost)} "
            f"duplicated={len(self.duplicated)} phantom={len(self.phantom)} "
            f"status mismatches={len(self.status_mismatches)} filled mismatches={len(self.filled_mismatches)}"
            + "".join(
                f" {name.replace('_', ' ')}={len(getattr(self, name))}"
                for name in (
                    "misattributed",
                    "unknown_orders",
                    "avg_price_mismatches",
                    "position_mismatches",
                    "balance_mismatches",
                )
                if getattr(self, name)
            )
        )

    def details(self) -> str:
        parts = [self.summary()]
        for name in _VIOLATION_NAMES:
            items = getattr(self, name)
            if items:
                parts.append(f"{name}: {items[:20]}")
        return "\n".join(parts)


_VIOLATION_NAMES = (
    "lost", "duplicated", "phantom", "misattributed", "unknown_orders", "status_mismatches",
    "filled_mismatches", "avg_price_mismatches", "position_mismatches", "balance_mismatches",
)  # fmt: skip


def symbol_of(instrument_id_value: str) -> str:
    """``BTCUSDT-PERP.BINANCE`` -> ``BTCUSDT``; ``BTC-USDT-PERP.BINGX`` -> ``BTC-USDT``."""
    symbol = instrument_id_value.rsplit(".", 1)[0]
    return symbol.removesuffix("-PERP")


BINGX = "bingx"
# BingX's REST balance (GET /openApi/swap/v3/user/balance) publishes 4 decimals; its stream 8. A node
# whose last word on the balance came from REST (a recovery, the audit poll) can know no more.
BINGX_REST_BALANCE_PLACES = 4
# Venues whose /sim/state needs no translation into the oracle's terms.
_PLAIN_VENUES = (None, "binance", "binance-futures")


def normalize_state(state: dict[str, Any], node_client_ids: list[str], venue: str | None) -> dict[str, Any]:
    """``state`` in the oracle's terms for ``venue`` (``None``/Binance: unchanged; ``"bingx"``:
    :func:`normalize_bingx_state`). Idempotent."""
    if venue in _PLAIN_VENUES:
        return state
    if venue == BINGX:
        return normalize_bingx_state(state, node_client_ids)
    raise ValueError(f"unknown venue {venue!r}; expected None, 'binance-futures' or 'bingx'")


def normalize_bingx_state(state: dict[str, Any], node_client_ids: list[str]) -> dict[str, Any]:
    """``/sim/state`` of the BingX dialect in the oracle's terms.

    BingX lowercases client order ids, and the BingX client modifies by cancel-replace: one
    NautilusTrader order is then a chain of venue orders ``<cid>``, ``<cid>-r1``, ``<cid>-r2``...
    (matched case-insensitively against ``node_client_ids``). Each chain becomes one venue order
    under the node's client id, with the status of its last link, the quantity filled by all links
    and (when more than one link filled) the average price of all the chain's trades. Orders and
    algo orders the node does not know, trades, accounts and everything else are left as they are.

    Each account gets ``wallet_balance_rest``: the wallet balance as BingX's REST publishes it
    (:data:`BINGX_REST_BALANCE_PLACES` decimals); the balance check accepts it as well as the exact one.

    Idempotent: a chain already merged is one row under the node's id, which maps to itself.
    """
    names = {cid.lower(): cid for cid in node_client_ids}
    trades_by_order: dict[Any, list[dict[str, Any]]] = {}
    for t in state.get("trades", []):
        trades_by_order.setdefault(t.get("order_id"), []).append(t)

    def link_of(venue_cid: str) -> tuple[str, int] | None:
        lowered = venue_cid.lower()
        if lowered in names:  # exact (any case) match first: an id may itself contain "-r"
            return names[lowered], 0
        base, sep, n = lowered.rpartition("-r")
        if sep and base in names and n.isdigit():
            return names[base], int(n)
        return None

    def chains(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        links: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for row in rows:
            link = link_of(row.get(key) or "")
            if link is None:
                out.append(row)
            else:
                links.setdefault(link[0], []).append((link[1], row))
        for node_cid, chain in links.items():
            chain.sort(key=lambda item: item[0])
            last = dict(chain[-1][1])
            last[key] = node_cid
            if len(chain) > 1 and "executed_qty" in last:
                filled = sum((Decimal(r["executed_qty"]) for _, r in chain), Decimal(0))
                last["executed_qty"] = str(filled)
                if last.get("status") == "NEW" and filled > 0:
                    # An earlier link filled in part before the replace: the order is part-filled.
                    last["status"] = "PARTIALLY_FILLED"
                avg = _chain_avg_price(chain, trades_by_order)
                if avg is not None:
                    last["avg_price"] = str(avg)
            out.append(last)
        return out

    # Each trade names the order it filled in the node's terms (the chain's node id), so that the
    # oracle can check a fill sits on the right order once the chain's links are merged into one.
    cid_by_order = {o.get("order_id"): o.get("client_order_id") or "" for o in state["orders"]}
    trades = []
    for t in state.get("trades", []):
        if "client_order_id" not in t and t.get("order_id") in cid_by_order:
            venue_cid = cid_by_order[t.get("order_id")]
            link = link_of(venue_cid)
            t = {**t, "client_order_id": link[0] if link is not None else venue_cid}
        trades.append(t)

    step = Decimal(1).scaleb(-BINGX_REST_BALANCE_PLACES)
    accounts = {
        name: {**acct, "wallet_balance_rest": str(Decimal(acct["wallet_balance"]).quantize(step))}
        if "wallet_balance" in acct
        else acct
        for name, acct in state.get("accounts", {}).items()
    }
    return {
        **state,
        "accounts": accounts,
        "trades": trades,
        "orders": chains(state["orders"], "client_order_id"),
        "algo_orders": chains(state.get("algo_orders", []), "client_algo_id"),
    }


def _chain_avg_price(
    chain: list[tuple[int, dict[str, Any]]], trades_by_order: dict[Any, list[dict[str, Any]]]
) -> Decimal | None:
    """The average price of every fill of a cancel-replace chain: from the venue's trades when it
    has them, else the links' average prices weighted by what each filled."""
    notional, qty = Decimal(0), Decimal(0)
    for _, row in chain:
        trades = trades_by_order.get(row.get("order_id"), []) if "order_id" in row else []
        if trades:
            for t in trades:
                notional += Decimal(t["qty"]) * Decimal(t["price"])
                qty += Decimal(t["qty"])
        elif Decimal(row.get("executed_qty", "0")) > 0:
            notional += Decimal(row["executed_qty"]) * Decimal(row.get("avg_price", "0"))
            qty += Decimal(row["executed_qty"])
    return notional / qty if qty > 0 else None


def check(
    state: dict[str, Any],
    cache: Cache,
    account_id: str | None = None,
    *,
    avg_price: bool = False,
    positions: bool = False,
    balances: bool = False,
    orders_known: bool = False,
    venue: str | None = None,
) -> OracleReport:
    """Compare the venue's ``state`` with the node's ``cache`` (for one venue account).

    The optional checks are off by default; the chaos runner turns them all on. ``orders_known``
    requires every venue order that is open or has filled to be known to the node. ``positions`` and
    ``balances`` compare against the single venue account (``account_id``, or the only one).
    ``venue="bingx"`` first brings BingX's state into the oracle's terms (:func:`normalize_state`;
    harmless on state already normalised)."""
    if venue not in _PLAIN_VENUES:
        state = normalize_state(state, [o.client_order_id.value for o in cache.orders()], venue)
    report = OracleReport()
    trades = [t for t in state["trades"] if account_id is None or t["account_id"] == account_id]
    # (symbol, trade id, side): a self-trade has one trade id for two orders, one per side.
    venue_trades = {(t["symbol"], str(t["trade_id"]), str(t["side"])) for t in trades}
    report.venue_trades = len(venue_trades)
    cid_by_order = {o["order_id"]: o["client_order_id"] for o in state["orders"] if "order_id" in o}
    # Who filled: the venue order's client id and its venue id (an adopted external order may carry
    # a client id of the node's own making; it still has the venue's order id).
    trade_owner: dict[tuple[str, str, str], tuple[str, str]] = {}
    for t in trades:
        owner = t.get("client_order_id") or cid_by_order.get(t.get("order_id"))
        if owner:
            trade_owner[(t["symbol"], str(t["trade_id"]), str(t["side"]))] = (
                str(owner),
                str(t.get("order_id")),
            )

    node_fill_keys: list[tuple[str, str, str]] = []
    for order in cache.orders():
        symbol = symbol_of(order.instrument_id.value)
        cid = order.client_order_id.value
        for e in order.events:
            if not isinstance(e, OrderFilled):
                continue
            key = (symbol, e.trade_id.value, order_side_to_str(e.order_side))
            node_fill_keys.append(key)
            owner = trade_owner.get(key)
            voi = _external_venue_id(order)
            if owner is not None and owner[0].lower() != cid.lower() and owner[1] != voi:
                report.misattributed.append(f"{key}: venue order {owner[0]}, node order {cid}")
    counts = Counter(node_fill_keys)
    report.node_fills = len(node_fill_keys)
    report.duplicated = sorted(k for k, n in counts.items() if n > 1)
    report.lost = sorted(venue_trades - counts.keys())
    report.phantom = sorted(counts.keys() - venue_trades)

    venue_orders = {
        o["client_order_id"]: o
        for o in state["orders"]
        if account_id is None or o["account_id"] == account_id
    }
    venue_algos = {
        a["client_algo_id"]: a
        for a in state.get("algo_orders", [])
        if account_id is None or a["account_id"] == account_id
    }
    venue_orders_by_id = {str(o.get("order_id")): o for o in venue_orders.values()}
    for order in cache.orders():
        cid = order.client_order_id.value
        venue = venue_orders.get(cid)
        external_id = _external_venue_id(order)
        if venue is None and external_id is not None and cid not in venue_algos:
            venue = venue_orders_by_id.get(external_id)  # adopted under an id of the node's making
        if venue is None:
            algo = venue_algos.get(cid)
            if algo is not None:
                expected = (_ALGO_OPEN | _ALGO_FINAL).get(algo["status"])
                if expected is not None and order.status not in expected:
                    report.status_mismatches.append(
                        f"{cid}: venue algo {algo['status']}, node {order.status_string()}"
                    )
            elif order.status not in (OrderStatus.REJECTED, OrderStatus.DENIED):
                report.status_mismatches.append(f"{cid}: unknown to venue, node {order.status_string()}")
            continue
        expected = _EXPECTED_STATUS.get(venue["status"], set())
        if order.status not in expected:
            report.status_mismatches.append(f"{cid}: venue {venue['status']}, node {order.status_string()}")
        if Decimal(venue["executed_qty"]) != order.filled_qty.as_decimal():
            report.filled_mismatches.append(
                f"{cid}: venue filled {venue['executed_qty']}, node {order.filled_qty}"
            )
        elif avg_price and Decimal(venue["executed_qty"]) > 0:
            _check_avg_price(report, cid, Decimal(venue["avg_price"]), order.avg_px)
    if orders_known:
        node_ids = {o.client_order_id.value.lower() for o in cache.orders()}
        node_vois = {v for o in cache.orders() if (v := _external_venue_id(o)) is not None}
        for cid, v in sorted(venue_orders.items()):
            if cid.lower() in node_ids or str(v.get("order_id")) in node_vois:
                continue
            if v["status"] in ("NEW", "PARTIALLY_FILLED") or Decimal(v["executed_qty"]) > 0:
                report.unknown_orders.append(f"{cid}: venue {v['status']} filled {v['executed_qty']}, node -")
    accounts = state.get("accounts", {})
    account = accounts.get(account_id) if account_id is not None else None
    if account is None and len(accounts) == 1:
        account = next(iter(accounts.values()))
    if positions and account is not None:
        _check_positions(report, account, cache)
    if balances and account is not None:
        _check_balances(report, account, cache)
    return report


def _external_venue_id(order: Order) -> str | None:
    """The venue order id of an order the node adopted as external (NautilusTrader tags it
    ``EXTERNAL``; a venue may give it a client id of the node's own making, so it is matched by its
    venue id). None for the node's own orders: those must match by client id, strictly."""
    if order.venue_order_id is None or "EXTERNAL" not in (order.tags or []):
        return None
    return str(order.venue_order_id.value)


def _check_avg_price(report: OracleReport, cid: str, venue_avg: Decimal, node_avg: float | None) -> None:
    # NautilusTrader keeps avg_px as a float: compare to a relative 1e-9 (far below one tick).
    if node_avg is None or abs(Decimal(repr(node_avg)) - venue_avg) > abs(venue_avg) * Decimal("1e-9"):
        report.avg_price_mismatches.append(f"{cid}: venue avg price {venue_avg}, node {node_avg}")


def _check_positions(report: OracleReport, account: dict[str, Any], cache: Cache) -> None:
    """Net per symbol; per symbol and side (LONG / SHORT) when the account is in hedge mode."""
    hedge = bool(account.get("hedge_mode"))
    venue: dict[tuple[str, str], Decimal] = {}
    for p in account.get("positions", []):
        key = (p["symbol"], str(p.get("position_side", "BOTH")) if hedge else "net")
        venue[key] = venue.get(key, Decimal(0)) + Decimal(p["amount"])
    node: dict[tuple[str, str], Decimal] = {}
    for position in cache.positions_open():
        symbol = symbol_of(position.instrument_id.value)
        signed = Decimal(str(position.signed_qty))
        side = "net"
        if hedge:
            # Hedge mode: the client names positions <instrument>-LONG / -SHORT.
            pid = position.id.value
            side = next(
                (s for s in ("LONG", "SHORT") if pid.endswith(f"-{s}")), "LONG" if signed > 0 else "SHORT"
            )
        node[(symbol, side)] = node.get((symbol, side), Decimal(0)) + signed
    for key in sorted(set(venue) | set(node)):
        v, n = venue.get(key, Decimal(0)), node.get(key, Decimal(0))
        if v != n:
            symbol, side = key
            what = f"{symbol} {side}" if hedge else symbol
            report.position_mismatches.append(f"{what}: venue net {v}, node net {n}")


def _check_balances(report: OracleReport, account: dict[str, Any], cache: Cache) -> None:
    asset = account.get("asset", "USDT")
    venue = Decimal(account["wallet_balance"])
    # The venue's ground truth, or exactly what its REST publishes (fewer decimals: BingX).
    accepted = {venue}
    if "wallet_balance_rest" in account:
        accepted.add(Decimal(account["wallet_balance_rest"]))
    node_accounts = cache.accounts()
    if not node_accounts:
        report.balance_mismatches.append(f"{asset}: venue wallet {venue}, node has no account")
        return
    for acct in node_accounts:
        currency = next((c for c in acct.currencies() if c.code == asset), None)
        total = acct.balance_total(currency) if currency is not None else None
        node = total.as_decimal() if total is not None else None
        if node not in accepted:
            report.balance_mismatches.append(f"{asset}: venue wallet {venue}, node {node}")
