"""Binance USD-M REST routes (``/fapi/...``): market data, signed trading and account endpoints,
rate-limit and request accounting and the REST side of fault injection (latency, fail rules,
late execution).

Malformed input always gets Binance's ``{"code", "msg"}`` envelope: parameter errors are answered
by the route (``-1100``/``-1102``/``-1130``...), and anything a route did not foresee is caught by
the middleware and answered ``-1000`` (HTTP 500, JSON) instead of aiohttp's plain-text 500."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

import msgspec
from aiohttp import web

from adapters.sim import rest_api
from adapters.sim.binance import errors, ops, wire
from adapters.sim.binance.errors import BinanceError
from adapters.sim.binance.ops import Params
from adapters.sim.binance.signing import ApiKey, authenticate_rest, lookup_key
from adapters.sim.faults import FailRule
from adapters.sim.model import MarginType, Order, OrderType, PositionSide, VenueReject
from adapters.sim.rest_api import RawRequest, json_response
from adapters.sim.wirejson import MalformedJson, decode

if TYPE_CHECKING:
    from adapters.sim.binance.app import BinanceVenue


NONE = "NONE"
USER_STREAM = "USER_STREAM"
SIGNED = "SIGNED"

ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]
TIME_IN_FORCE = ["GTC", "IOC", "FOK", "GTX", "GTD"]
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
BAN_AFTER_429S = 20  # requests refused with 429 inside one minute before the IP is banned (418)
BAN_SECONDS = 120
# GET /fapi/v1/userTrades (developers.binance.com, USDS-M "Account Trade List (USER_DATA)"): no
# startTime/endTime -> the last 7 days; startTime..endTime at most 7 days apart.
TRADE_SPAN_MS = 7 * 86_400_000
DAY_MS = 86_400_000


# ------------------------------------------------------------------------------------------------
# Rate limits (fixed windows, as Binance counts them)
# ------------------------------------------------------------------------------------------------


class RateLimiter:
    """Request weight per IP in fixed windows (Binance: the minute from :00; ``interval_s`` shorter
    compresses time in tests, announced in exchangeInfo and the used-weight header's name), order
    counts per account, the 429 -> 418 escalation, and what was answered."""

    WEIGHT_HISTORY = 32  # windows kept in weight_by_window

    def __init__(self, weight_limit: int, orders_10s: int, orders_1m: int, interval_s: int = 60) -> None:
        if interval_s < 1:
            raise ValueError("rate limit interval must be >= 1 second")
        self.weight_limit = weight_limit
        self.orders_10s = orders_10s
        self.orders_1m = orders_1m
        self.interval_ms = interval_s * 1000
        self.reset()

    def reset(self) -> None:
        self._weight: tuple[int, int] = (0, 0)  # (window index, used)
        self._orders: dict[str, tuple[int, int, int, int]] = {}  # account -> (10s idx, n, 1m idx, n)
        self._refused: tuple[int, int] = (0, 0)
        self.banned_until_ms = 0
        # Answered since the start or the last reset (not cleared by a window roll).
        self.answered_429 = 0
        self.answered_418 = 0
        self.weight_by_window: dict[int, int] = {}  # window start ms -> weight counted in it

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 1_000_000

    @property
    def weight_header(self) -> str:
        """``X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter)``: ``-1M`` for the minute."""
        secs = self.interval_ms // 1000
        return "X-MBX-USED-WEIGHT-" + (f"{secs // 60}M" if secs % 60 == 0 else f"{secs}S")

    def exchange_info_interval(self) -> tuple[str, int]:
        secs = self.interval_ms // 1000
        return ("MINUTE", secs // 60) if secs % 60 == 0 else ("SECOND", secs)

    def used_weight(self) -> int:
        window, used = self._weight
        return used if window == self._now_ms() // self.interval_ms else 0

    def add_weight(self, weight: int) -> int:
        window = self._now_ms() // self.interval_ms
        used = self.used_weight() + weight
        self._weight = (window, used)
        history = self.weight_by_window
        history[window * self.interval_ms] = used
        if len(history) > self.WEIGHT_HISTORY:
            del history[min(history)]
        return used

    def retry_after_s(self) -> int:
        now = self._now_ms()
        return max(1, math.ceil((self.interval_ms - now % self.interval_ms) / 1000))

    def refused(self) -> bool:
        """Count a 429; True when the client ignored enough of them to be banned."""
        window = self._now_ms() // self.interval_ms
        m, n = self._refused
        n = n + 1 if m == window else 1
        self._refused = (window, n)
        if n > BAN_AFTER_429S:
            self.banned_until_ms = self._now_ms() + BAN_SECONDS * 1000
            return True
        return False

    def answered(self, status: int) -> None:
        if status == 429:
            self.answered_429 += 1
        elif status == 418:
            self.answered_418 += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "used_weight_1m": self.used_weight(),
            "weight_limit_1m": self.weight_limit,
            "weight_interval_ms": self.interval_ms,
            "banned_until_ms": self.banned_until_ms,
            "answered_429": self.answered_429,
            "answered_418": self.answered_418,
            "weight_by_window": sorted(self.weight_by_window.items()),
        }

    def order_counts(self, account: str) -> tuple[int, int]:
        now = self._now_ms()
        i10, n10, i1m, n1m = self._orders.get(account, (0, 0, 0, 0))
        return (n10 if i10 == now // 10_000 else 0, n1m if i1m == now // 60_000 else 0)

    def add_orders(self, account: str, n: int) -> tuple[int, int]:
        now = self._now_ms()
        c10, c1m = self.order_counts(account)
        c10 += n
        c1m += n
        self._orders[account] = (now // 10_000, c10, now // 60_000, c1m)
        return c10, c1m


# ------------------------------------------------------------------------------------------------
# Routing
# ------------------------------------------------------------------------------------------------

Ctx: TypeAlias = rest_api.Ctx["BinanceVenue", Params, ApiKey]
Handler = Callable[[Ctx], Any]


@dataclass(slots=True)
class Route(rest_api.Route):
    weight: int | Callable[[Params], int] = 1
    orders: int | Callable[[Params], int] = 0  # new orders counted against the order limits
    order_endpoint: bool = False

    def weight_of(self, p: Params) -> int:
        return self.weight(p) if callable(self.weight) else self.weight

    def orders_of(self, p: Params) -> int:
        return self.orders(p) if callable(self.orders) else self.orders


def error_response(err: BinanceError, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(err.body(), err.status, headers)


class RestApi(rest_api.RestApi["BinanceVenue", Route]):
    PREFIX = "/fapi/"
    API_KEY_HEADER = "X-MBX-APIKEY"

    def add(
        self,
        method: str,
        path: str,
        fn: Handler,
        security: str = NONE,
        weight: Any = 1,
        orders: Any = 0,
        order_endpoint: bool = False,
    ) -> None:
        self.routes[(method, path)] = Route(method, path, fn, security, weight, orders, order_endpoint)

    def _json_body_params(self, raw: str) -> dict[str, str]:
        return {}  # Binance only reads form bodies; a JSON body is not part of totalParams

    async def _execute(self, route: Route, raw: RawRequest, request: web.Request | None) -> web.Response:
        """Run one request through rate limits, authentication and its route (also what a late
        execution runs, with ``request`` None)."""
        v = self.venue
        p = Params(raw.params)
        headers = {}
        limiter = v.limiter
        try:
            now_ms = v.faults.server_time_ms()
            if limiter.banned_until_ms > limiter._now_ms():
                raise errors.ip_banned(limiter.banned_until_ms)
            weight = route.weight_of(p)
            v.requests.add_weight(f"{route.method} {route.path}", weight)
            used = limiter.add_weight(weight)
            headers[limiter.weight_header] = str(used)
            if used > limiter.weight_limit:
                if limiter.refused():
                    raise errors.ip_banned(limiter.banned_until_ms)
                unit, num = limiter.exchange_info_interval()
                raise errors.too_much_weight(limiter.weight_limit, f"{num} {unit}")
            key: ApiKey | None = None
            if route.security == SIGNED:
                key = authenticate_rest(v.keys, raw.api_key, raw.raw_query, raw.body, raw.params, now_ms)
            elif route.security == USER_STREAM:
                key = lookup_key(v.keys, raw.api_key)
            if route.order_endpoint and key is not None:
                n = route.orders_of(p)
                c10, c1m = limiter.order_counts(key.account_id)
                if n and (c10 + n > limiter.orders_10s or c1m + n > limiter.orders_1m):
                    headers["X-MBX-ORDER-COUNT-10S"] = str(c10)
                    headers["X-MBX-ORDER-COUNT-1M"] = str(c1m)
                    per = (
                        (limiter.orders_10s, "10 SECOND")
                        if c10 + n > limiter.orders_10s
                        else (limiter.orders_1m, "1 MINUTE")
                    )
                    raise BinanceError(
                        -1015, f"Too many new orders; current limit is {per[0]} orders per {per[1]}.", 429
                    )
                c10, c1m = limiter.add_orders(key.account_id, n)
                headers["X-MBX-ORDER-COUNT-10S"] = str(c10)
                headers["X-MBX-ORDER-COUNT-1M"] = str(c1m)
            result = route.fn(rest_api.Ctx(v, request, p, key))
            if inspect.isawaitable(result):
                result = await result
            encoded = msgspec.json.encode(result)
        except BinanceError as err:
            if err.status in (418, 429):
                limiter.answered(err.status)
                headers["Retry-After"] = str(
                    limiter.retry_after_s()
                    if err.status == 429
                    else max(1, (limiter.banned_until_ms - limiter._now_ms()) // 1000)
                )
            headers.setdefault(limiter.weight_header, str(limiter.used_weight()))
            return error_response(err, headers)
        return web.Response(body=encoded, content_type="application/json", headers=headers)

    # --- what the shared middleware answers ------------------------------------------------------
    def _unknown_route(self, request: web.Request, method_not_allowed: bool) -> web.Response:
        return json_response(
            {"code": -5000, "msg": f"Path {request.path}, Method {request.method} is invalid"},
            405 if method_not_allowed else 404,
        )

    def _internal_error(self) -> web.Response:
        return json_response(
            {"code": errors.UNKNOWN, "msg": "An unknown error occurred while processing the request."}, 500
        )

    def _fail_response(self, rule: FailRule) -> web.Response:
        err = errors.default_fail_error(rule.status, rule.code, rule.msg)
        headers = {self.venue.limiter.weight_header: str(self.venue.limiter.used_weight())}
        if rule.status in (418, 429):
            headers["Retry-After"] = "1"
        return error_response(err, headers)

    # --- route table ---------------------------------------------------------------------------
    def _define(self) -> None:
        a = self.add
        # market data
        a("GET", "/fapi/v1/ping", lambda c: {})
        a("GET", "/fapi/v1/time", lambda c: {"serverTime": c.venue.faults.server_time_ms()})
        a("GET", "/fapi/v1/exchangeInfo", self.exchange_info)
        a("GET", "/fapi/v1/depth", self.depth, weight=_depth_weight)
        a("GET", "/fapi/v1/klines", self.klines, weight=5)
        a("GET", "/fapi/v1/aggTrades", self.agg_trades, weight=20)
        a("GET", "/fapi/v1/trades", self.trades, weight=5)
        a("GET", "/fapi/v1/premiumIndex", self.premium_index, weight=_sym_weight(1, 10))
        a("GET", "/fapi/v1/ticker/bookTicker", self.book_ticker, weight=_sym_weight(2, 5))
        a("GET", "/fapi/v1/ticker/24hr", self.ticker_24hr, weight=_sym_weight(1, 40))
        a("GET", "/fapi/v1/ticker/price", self.ticker_price, weight=_sym_weight(1, 2))
        a("GET", "/fapi/v2/ticker/price", self.ticker_price, weight=_sym_weight(1, 2))
        a("GET", "/fapi/v1/fundingRate", self.funding_rate)
        a("GET", "/fapi/v1/fundingInfo", lambda c: [])
        # orders
        a("POST", "/fapi/v1/order", self.new_order, SIGNED, weight=0, orders=1, order_endpoint=True)
        a("PUT", "/fapi/v1/order", self.modify_order, SIGNED, weight=1, orders=1, order_endpoint=True)
        a("DELETE", "/fapi/v1/order", self.cancel_order, SIGNED, weight=1, order_endpoint=True)
        a("GET", "/fapi/v1/order", self.get_order, SIGNED, weight=1)
        a(
            "POST",
            "/fapi/v1/batchOrders",
            self.batch_new,
            SIGNED,
            weight=5,
            orders=_batch_count,
            order_endpoint=True,
        )
        a(
            "PUT",
            "/fapi/v1/batchOrders",
            self.batch_modify,
            SIGNED,
            weight=5,
            orders=_batch_count,
            order_endpoint=True,
        )
        a("DELETE", "/fapi/v1/batchOrders", self.batch_cancel, SIGNED, weight=1, order_endpoint=True)
        a("DELETE", "/fapi/v1/allOpenOrders", self.cancel_all, SIGNED, weight=1, order_endpoint=True)
        a("GET", "/fapi/v1/openOrders", self.open_orders, SIGNED, weight=_sym_weight(1, 40))
        a("GET", "/fapi/v1/openOrder", self.open_order, SIGNED, weight=1)
        a("GET", "/fapi/v1/allOrders", self.all_orders, SIGNED, weight=5)
        a("GET", "/fapi/v1/userTrades", self.user_trades, SIGNED, weight=5)
        # algo orders
        a("POST", "/fapi/v1/algoOrder", self.new_algo, SIGNED, weight=0, orders=1, order_endpoint=True)
        a("DELETE", "/fapi/v1/algoOrder", self.cancel_algo, SIGNED, weight=1, order_endpoint=True)
        a("GET", "/fapi/v1/algoOrder", self.get_algo, SIGNED, weight=1)
        a("GET", "/fapi/v1/openAlgoOrders", self.open_algos, SIGNED, weight=_sym_weight(1, 40))
        a("GET", "/fapi/v1/allAlgoOrders", self.all_algos, SIGNED, weight=5)
        a("DELETE", "/fapi/v1/algoOpenOrders", self.cancel_all_algos, SIGNED, weight=1, order_endpoint=True)
        # account
        a("GET", "/fapi/v2/account", lambda c: self.account(c, 2), SIGNED, weight=5)
        a("GET", "/fapi/v3/account", lambda c: self.account(c, 3), SIGNED, weight=5)
        a("GET", "/fapi/v2/balance", self.balance, SIGNED, weight=5)
        a("GET", "/fapi/v3/balance", self.balance, SIGNED, weight=5)
        a("GET", "/fapi/v2/positionRisk", lambda c: self.position_risk(c, 2), SIGNED, weight=5)
        a("GET", "/fapi/v3/positionRisk", lambda c: self.position_risk(c, 3), SIGNED, weight=5)
        a("GET", "/fapi/v1/positionSide/dual", self.get_dual, SIGNED, weight=30)
        a("POST", "/fapi/v1/positionSide/dual", self.set_dual, SIGNED, weight=1)
        a("GET", "/fapi/v1/symbolConfig", self.symbol_config, SIGNED, weight=5)
        a("GET", "/fapi/v1/commissionRate", self.commission_rate, SIGNED, weight=20)
        a("POST", "/fapi/v1/leverage", self.set_leverage, SIGNED, weight=1)
        a("POST", "/fapi/v1/marginType", self.set_margin_type, SIGNED, weight=1)
        a("GET", "/fapi/v1/multiAssetsMargin", lambda c: {"multiAssetsMargin": False}, SIGNED, weight=30)
        a("GET", "/fapi/v1/accountConfig", self.account_config, SIGNED, weight=5)
        a("GET", "/fapi/v1/leverageBracket", self.leverage_bracket, SIGNED, weight=1)
        # listen keys
        a("POST", "/fapi/v1/listenKey", self.listen_key_new, USER_STREAM)
        a("PUT", "/fapi/v1/listenKey", self.listen_key_keepalive, USER_STREAM)
        a("DELETE", "/fapi/v1/listenKey", self.listen_key_delete, USER_STREAM)

    # --- market data ---------------------------------------------------------------------------
    def exchange_info(self, c: Ctx) -> dict[str, Any]:
        v = c.venue
        symbols = []
        for spec in v.specs.values():
            symbols.append(
                {
                    "symbol": spec.symbol,
                    "pair": spec.symbol,
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": spec.onboard_date_ms,
                    "status": "TRADING",
                    "maintMarginPercent": wire.fmt(spec.maint_margin_percent, 4),
                    "requiredMarginPercent": wire.fmt(spec.required_margin_percent, 4),
                    "baseAsset": spec.base_asset,
                    "quoteAsset": spec.quote_asset,
                    "marginAsset": spec.margin_asset,
                    "pricePrecision": spec.price_precision,
                    "quantityPrecision": spec.quantity_precision,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "settlePlan": 0,
                    "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                    "maxMoveOrderLimit": 10000,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": wire.plain(spec.min_price),
                            "maxPrice": wire.plain(spec.max_price),
                            "tickSize": wire.plain(spec.tick_size),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": wire.plain(spec.min_qty),
                            "maxQty": wire.plain(spec.max_qty),
                            "stepSize": wire.plain(spec.step_size),
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "minQty": wire.plain(spec.market_min_qty),
                            "maxQty": wire.plain(spec.market_max_qty),
                            "stepSize": wire.plain(spec.market_step_size),
                        },
                        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                        # MAX_NUM_ALGO_ORDERS was removed on 2025-12-29: the cap on open
                        # conditional orders is account-wide now (BinanceSettings).
                        {"filterType": "MIN_NOTIONAL", "notional": wire.plain(spec.min_notional)},
                        {
                            "filterType": "PERCENT_PRICE",
                            "multiplierUp": "1.0500",
                            "multiplierDown": "0.9500",
                            "multiplierDecimal": "4",
                        },
                    ],
                    "orderTypes": ORDER_TYPES,
                    "timeInForce": TIME_IN_FORCE,
                    "permissionSets": ["GRID", "COPY"],
                }
            )
        assets = sorted({s.margin_asset for s in v.specs.values()})
        return {
            "timezone": "UTC",
            "serverTime": v.faults.server_time_ms(),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": v.limiter.exchange_info_interval()[0],
                    "intervalNum": v.limiter.exchange_info_interval()[1],
                    "limit": v.limiter.weight_limit,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": v.limiter.orders_1m,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": v.limiter.orders_10s,
                },
            ],
            "exchangeFilters": [],
            "assets": [{"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in assets],
            "symbols": symbols,
        }

    def depth(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        limit = c.params.integer("limit") or 500
        if limit not in DEPTH_LIMITS:
            raise errors.invalid_param("limit")
        book = c.venue.engine.book(symbol, limit)
        f = wire.Fmt(c.venue.specs[symbol])
        return {
            "lastUpdateId": book.last_update_id,
            "E": book.time_ms,
            "T": book.time_ms,
            "bids": wire.levels(book.bids, f),
            "asks": wire.levels(book.asks, f),
        }

    def klines(self, c: Ctx) -> list[Any]:
        from adapters.sim.binance.market_stream import INTERVAL_MS

        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        interval = c.params.req("interval")
        if interval not in INTERVAL_MS:
            raise BinanceError(-1120, "Invalid interval.")
        limit = min(c.params.integer("limit") or 500, 1500)
        rows = c.venue.engine.klines(
            symbol,
            INTERVAL_MS[interval],
            start_ms=c.params.integer("startTime"),
            end_ms=c.params.integer("endTime"),
            limit=limit,
        )
        spec = c.venue.specs[symbol]
        return [wire.kline_rest(k, spec) for k in rows]

    def agg_trades(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        limit = min(c.params.integer("limit") or 500, 1000)
        rows = c.venue.engine.public_trades(
            symbol,
            from_agg_id=c.params.integer("fromId"),
            start_ms=c.params.integer("startTime"),
            end_ms=c.params.integer("endTime"),
            limit=limit,
        )
        spec = c.venue.specs[symbol]
        return [wire.agg_trade_rest(t, spec) for t in rows]

    def trades(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        limit = min(c.params.integer("limit") or 500, 1000)
        f = wire.Fmt(c.venue.specs[symbol])
        return [
            {
                "id": t.last_trade_id,
                "price": f.px(t.price),
                "qty": f.qty(t.qty),
                "quoteQty": f.quote(t.price * t.qty),
                "time": t.time_ms,
                "isBuyerMaker": t.buyer_is_maker,
            }
            for t in c.venue.engine.public_trades(symbol, limit=limit)
        ]

    def _symbols(self, c: Ctx) -> tuple[list[str], bool]:
        symbol = c.params.symbol(c.venue, required=False)
        return ([symbol], True) if symbol else (list(c.venue.specs), False)

    def premium_index(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        rows = []
        for s in symbols:
            m = c.venue.engine.mark_price(s)
            places = max(c.venue.specs[s].price_precision, 8)
            rows.append(
                {
                    "symbol": s,
                    "markPrice": wire.fmt(m.mark_price, places),
                    "indexPrice": wire.fmt(m.index_price, places),
                    "estimatedSettlePrice": wire.fmt(m.estimated_settle_price or m.mark_price, places),
                    "lastFundingRate": wire.fmt(m.funding_rate, 8),
                    "interestRate": wire.fmt(m.interest_rate, 8),
                    "nextFundingTime": m.next_funding_time_ms,
                    "time": m.time_ms,
                }
            )
        return rows[0] if single else rows

    def book_ticker(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        rows = []
        for s in symbols:
            b = c.venue.engine.book(s, 5)
            f = wire.Fmt(c.venue.specs[s])
            bid = b.bids[0] if b.bids else (Decimal(0), Decimal(0))
            ask = b.asks[0] if b.asks else (Decimal(0), Decimal(0))
            rows.append(
                {
                    "symbol": s,
                    "bidPrice": f.px(bid[0]),
                    "bidQty": f.qty(bid[1]),
                    "askPrice": f.px(ask[0]),
                    "askQty": f.qty(ask[1]),
                    "time": b.time_ms,
                    "lastUpdateId": b.last_update_id,
                }
            )
        return rows[0] if single else rows

    def ticker_24hr(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        now = c.venue.faults.server_time_ms()
        rows = []
        for s in symbols:
            f = wire.Fmt(c.venue.specs[s])
            ks = c.venue.engine.klines(s, 3_600_000, start_ms=now - 86_400_000, end_ms=now, limit=25)
            last = c.venue.engine.last_price(s)
            open_ = ks[0].open if ks else last
            high = max((k.high for k in ks), default=last)
            low = min((k.low for k in ks), default=last)
            vol = sum((k.volume for k in ks), Decimal(0))
            qvol = sum((k.quote_volume for k in ks), Decimal(0))
            change = last - open_
            rows.append(
                {
                    "symbol": s,
                    "priceChange": f.px(change),
                    "priceChangePercent": wire.fmt((change / open_ * 100) if open_ else Decimal(0), 3)[:12],
                    "weightedAvgPrice": f.px((qvol / vol) if vol else last),
                    "lastPrice": f.px(last),
                    "lastQty": f.qty(Decimal(0)),
                    "openPrice": f.px(open_),
                    "highPrice": f.px(high),
                    "lowPrice": f.px(low),
                    "volume": f.qty(vol),
                    "quoteVolume": f.quote(qvol),
                    "openTime": ks[0].open_time_ms if ks else now - 86_400_000,
                    "closeTime": now,
                    "firstId": 0,
                    "lastId": 0,
                    "count": sum(k.trades for k in ks),
                }
            )
        return rows[0] if single else rows

    def ticker_price(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        now = c.venue.faults.server_time_ms()
        rows = [
            {"symbol": s, "price": wire.Fmt(c.venue.specs[s]).px(c.venue.engine.last_price(s)), "time": now}
            for s in symbols
        ]
        return rows[0] if single else rows

    def funding_rate(self, c: Ctx) -> list[Any]:
        # The engine keeps no funding history: report the current rate at the past funding times.
        symbols, _ = self._symbols(c)
        limit = min(c.params.integer("limit") or 100, 1000)
        rows = []
        for s in symbols:
            m = c.venue.engine.mark_price(s)
            t = m.next_funding_time_ms - 8 * 3_600_000
            for i in range(min(limit, 3)):
                rows.append(
                    {
                        "symbol": s,
                        "fundingTime": t - i * 8 * 3_600_000,
                        "fundingRate": wire.fmt(m.funding_rate, 8),
                        "markPrice": wire.fmt(m.mark_price, 8),
                    }
                )
        rows.sort(key=lambda r: (str(r["symbol"]), int(str(r["fundingTime"]))))
        return rows

    # --- orders --------------------------------------------------------------------------------
    def new_order(self, c: Ctx) -> dict[str, Any]:
        return ops.place_order(c.venue, c.account, c.params)

    def modify_order(self, c: Ctx) -> dict[str, Any]:
        return ops.modify_order(c.venue, c.account, c.params)

    def cancel_order(self, c: Ctx) -> dict[str, Any]:
        return ops.cancel_order(c.venue, c.account, c.params)

    def get_order(self, c: Ctx) -> dict[str, Any]:
        return ops.query_order(c.venue, c.account, c.params)

    def open_order(self, c: Ctx) -> dict[str, Any]:
        return ops.query_order(c.venue, c.account, c.params, open_only=True)

    def _batch(self, c: Ctx, name: str) -> list[Any]:
        raw = c.params.req(name)
        try:
            items = decode(raw)
        except MalformedJson:
            raise errors.invalid_param(name) from None
        if not isinstance(items, list) or not items:
            raise errors.invalid_param(name)
        if len(items) > 5:
            raise BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")
        return items

    def _batch_items(self, c: Ctx, fn: Callable[[Params], dict[str, Any]]) -> list[Any]:
        results: list[Any] = []
        for item in self._batch(c, "batchOrders"):
            if not isinstance(item, dict):
                results.append(errors.invalid_param("batchOrders").body())
                continue
            try:
                results.append(fn(Params.from_json(item)))
            except BinanceError as err:
                results.append(err.body())
        return results

    def batch_new(self, c: Ctx) -> list[Any]:
        return self._batch_items(c, lambda p: ops.place_order(c.venue, c.account, p))

    def batch_modify(self, c: Ctx) -> list[Any]:
        return self._batch_items(c, lambda p: ops.modify_order(c.venue, c.account, p))

    def batch_cancel(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        ids_raw = c.params.get("orderIdList")
        cids_raw = c.params.get("origClientOrderIdList")
        if ids_raw is None and cids_raw is None:
            raise BinanceError(
                errors.MANDATORY_PARAM,
                "Param 'origClientOrderIdList' or 'orderIdList' must be sent, but both were empty/null!",
            )
        refs: list[dict[str, str]] = []
        try:
            ids = decode(ids_raw) if ids_raw is not None else []
            cids = decode(cids_raw) if cids_raw is not None else []
        except MalformedJson:
            raise errors.invalid_param("orderIdList") from None
        if not isinstance(ids, list) or not isinstance(cids, list):
            raise errors.invalid_param("orderIdList")
        if not all(isinstance(i, int | str) for i in ids + cids):
            raise errors.invalid_param("orderIdList")
        refs += [{"symbol": symbol, "orderId": str(i)} for i in ids]
        refs += [{"symbol": symbol, "origClientOrderId": str(i)} for i in cids]
        if len(refs) > 10:
            raise errors.invalid_param("orderIdList")
        results: list[Any] = []
        for ref in refs:
            try:
                results.append(ops.cancel_order(c.venue, c.account, Params(ref)))
            except BinanceError as err:
                results.append(err.body())
        return results

    def cancel_all(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        ops.call(lambda: c.venue.engine.cancel_all_orders(c.account, symbol), errors.CTX_CANCEL)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _orders_json(self, c: Ctx, orders: list[Order]) -> list[Any]:
        return [
            wire.order_json(o, c.venue.specs.get(o.symbol), c.venue.extras_for(o.order_id)) for o in orders
        ]

    def open_orders(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue, required=False)
        return self._orders_json(c, c.venue.engine.open_orders(c.account, symbol))

    def all_orders(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        p = c.params
        limit = min(p.integer("limit") or 500, 1000)
        orders = c.venue.engine.all_orders(
            c.account,
            symbol,
            order_id=p.integer("orderId"),
            start_ms=p.integer("startTime"),
            end_ms=p.integer("endTime"),
            limit=limit,
        )
        return self._orders_json(c, orders)

    def user_trades(self, c: Ctx) -> list[Any]:
        """Account Trade List with the venue's history limits. Relied on: developers.binance.com
        "Account Trade List (USER_DATA)" (USDS-M, GET /fapi/v1/userTrades): limit default 500,
        max 1000; neither startTime nor endTime -> the last 7 days; startTime..endTime at most 7
        days; fromId cannot be sent with startTime or endTime; history is limited (the stored page
        says 6 months, the 2026-08-26 change log 3 months: ``BinanceSettings.trade_history_days``,
        default 90). Not on that page, so modelled on the same 7-day rule: startTime alone serves
        [startTime, startTime + 7d], endTime alone [endTime - 7d, endTime]. Error codes from the
        USDS-M error-code list: -1127 "More than %s hours between startTime and endTime.", -1128
        "Combination of optional parameters invalid.", -1023 "Start time is greater than end time."
        ``faults.age_history`` moves the "now" these windows are measured against."""
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        p = c.params
        limit = p.integer("limit") or 500
        if limit < 1:
            raise errors.invalid_param("limit")
        limit = min(limit, 1000)
        from_id, order_id = p.integer("fromId"), p.integer("orderId")
        start, end = p.integer("startTime"), p.integer("endTime")
        if from_id is not None and (start is not None or end is not None):
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        now = c.venue.faults.history_now_ms()
        horizon = now - int(c.venue.settings.trade_history_days * DAY_MS)
        newest_first = from_id is None and start is None  # "Default gets most recent trades"
        if from_id is None:
            if start is None and end is None:
                start, end = now - TRADE_SPAN_MS, now
            elif start is None:
                assert end is not None
                start = end - TRADE_SPAN_MS
            elif end is None:
                end = start + TRADE_SPAN_MS
            if start > end:
                raise BinanceError(-1023, "Start time is greater than end time.")
            if end - start > TRADE_SPAN_MS:
                raise BinanceError(
                    -1127, f"More than {TRADE_SPAN_MS // 3_600_000} hours between startTime and endTime."
                )
        window_start = max(start if start is not None else horizon, horizon)
        trades = c.venue.engine.account_trades(
            c.account,
            symbol,
            from_id=from_id,
            order_id=order_id,
            # Newest-first queries take the last `limit` up to endTime, then keep the window.
            start_ms=None if newest_first else window_start,
            end_ms=end,
            limit=limit,
        )
        trades = [t for t in trades if t.time_ms >= window_start]
        spec = c.venue.specs[symbol]
        return [wire.user_trade_json(t, spec, spec.margin_asset) for t in trades]

    # --- algo orders ---------------------------------------------------------------------------
    def new_algo(self, c: Ctx) -> dict[str, Any]:
        return ops.place_algo(c.venue, c.account, c.params)

    def cancel_algo(self, c: Ctx) -> dict[str, Any]:
        return ops.cancel_algo(c.venue, c.account, c.params)

    def get_algo(self, c: Ctx) -> dict[str, Any]:
        return ops.query_algo(c.venue, c.account, c.params)

    def open_algos(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue, required=False)
        algo_id = c.params.integer("algoId")
        rows = c.venue.engine.open_algos(c.account, symbol)
        return [
            wire.algo_json(a, c.venue.specs.get(a.symbol))
            for a in rows
            if algo_id is None or a.algo_id == algo_id
        ]

    def all_algos(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        p = c.params
        limit = min(p.integer("limit") or 100, 100)
        rows = c.venue.engine.all_algos(
            c.account, symbol, start_ms=p.integer("startTime"), end_ms=p.integer("endTime"), limit=limit
        )
        return [wire.algo_json(a, c.venue.specs.get(a.symbol)) for a in rows]

    def cancel_all_algos(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        ops.call(lambda: c.venue.engine.cancel_all_algos(c.account, symbol), errors.CTX_CANCEL)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    # --- account -------------------------------------------------------------------------------
    def _positions(self, c: Ctx) -> list[dict[str, Any]]:
        v = c.venue
        acct = v.engine.account(c.account)
        rows = []
        for pos in v.engine.positions(c.account):
            spec = v.specs[pos.symbol]
            mark = v.engine.mark_price(pos.symbol).mark_price
            lev = acct.leverage.get(pos.symbol, 20)
            notional = pos.amount * mark
            upnl = (
                v.engine.unrealized_pnl(c.account, pos.symbol, pos.position_side)
                if pos.amount
                else Decimal(0)
            )
            im = abs(notional) / lev
            mm = abs(notional) * spec.maint_margin_percent / 100
            open_im = sum(
                (
                    o.leaves_qty * (o.price or mark) / lev
                    for o in v.engine.open_orders(c.account, pos.symbol)
                    if o.position_side is pos.position_side
                ),
                Decimal(0),
            )
            bid_notional = sum(
                (
                    o.leaves_qty * o.price
                    for o in v.engine.open_orders(c.account, pos.symbol)
                    if o.side.value == "BUY" and o.position_side is pos.position_side
                ),
                Decimal(0),
            )
            ask_notional = sum(
                (
                    o.leaves_qty * o.price
                    for o in v.engine.open_orders(c.account, pos.symbol)
                    if o.side.value == "SELL" and o.position_side is pos.position_side
                ),
                Decimal(0),
            )
            if pos.amount > 0:
                liq = pos.entry_price * (1 - Decimal(1) / lev + spec.maint_margin_percent / 100)
            elif pos.amount < 0:
                liq = pos.entry_price * (1 + Decimal(1) / lev - spec.maint_margin_percent / 100)
            else:
                liq = Decimal(0)
            rows.append(
                {
                    "pos": pos,
                    "spec": spec,
                    "mark": mark,
                    "leverage": lev,
                    "notional": notional,
                    "upnl": upnl,
                    "im": im,
                    "mm": mm,
                    "open_im": open_im,
                    "liq": liq,
                    "bid": bid_notional,
                    "ask": ask_notional,
                    "isolated": str(acct.margin_type.get(pos.symbol, MarginType.CROSSED)) == "ISOLATED",
                }
            )
        return rows

    def account(self, c: Ctx, version: int) -> dict[str, Any]:
        v = c.venue
        acct = v.engine.account(c.account)
        rows = self._positions(c)
        upnl = sum((r["upnl"] for r in rows), Decimal(0))
        pos_im = sum((r["im"] for r in rows), Decimal(0))
        open_im = sum((r["open_im"] for r in rows), Decimal(0))
        mm = sum((r["mm"] for r in rows), Decimal(0))
        wallet = acct.wallet_balance
        available = v.engine.available_balance(c.account)
        f8 = lambda d: wire.fmt(d, 8)  # noqa: E731
        totals = {
            "totalInitialMargin": f8(pos_im + open_im),
            "totalMaintMargin": f8(mm),
            "totalWalletBalance": f8(wallet),
            "totalUnrealizedProfit": f8(upnl),
            "totalMarginBalance": f8(wallet + upnl),
            "totalPositionInitialMargin": f8(pos_im),
            "totalOpenOrderInitialMargin": f8(open_im),
            "totalCrossWalletBalance": f8(wallet),
            "totalCrossUnPnl": f8(upnl),
            "availableBalance": f8(available),
            "maxWithdrawAmount": f8(max(Decimal(0), min(available, wallet))),
        }
        asset = {
            "asset": acct.asset,
            "walletBalance": f8(wallet),
            "unrealizedProfit": f8(upnl),
            "marginBalance": f8(wallet + upnl),
            "maintMargin": f8(mm),
            "initialMargin": f8(pos_im + open_im),
            "positionInitialMargin": f8(pos_im),
            "openOrderInitialMargin": f8(open_im),
            "crossWalletBalance": f8(wallet),
            "crossUnPnl": f8(upnl),
            "availableBalance": f8(available),
            "maxWithdrawAmount": f8(max(Decimal(0), min(available, wallet))),
            "marginAvailable": True,
            "updateTime": acct.update_time_ms,
        }
        if version == 2:
            positions = [
                {
                    "symbol": r["pos"].symbol,
                    "initialMargin": f8(r["im"] + r["open_im"]),
                    "maintMargin": f8(r["mm"]),
                    "unrealizedProfit": f8(r["upnl"]),
                    "positionInitialMargin": f8(r["im"]),
                    "openOrderInitialMargin": f8(r["open_im"]),
                    "leverage": str(r["leverage"]),
                    "isolated": r["isolated"],
                    "entryPrice": wire.fmt(r["pos"].entry_price, 5),
                    "breakEvenPrice": wire.plain(r["pos"].break_even_price),
                    "maxNotional": "250000",
                    "bidNotional": wire.plain(r["bid"]),
                    "askNotional": wire.plain(r["ask"]),
                    "positionSide": str(r["pos"].position_side),
                    "positionAmt": wire.Fmt(r["spec"]).qty(r["pos"].amount),
                    "updateTime": r["pos"].update_time_ms,
                }
                for r in rows
            ]
            return {
                "feeTier": 0,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": 0,
                "multiAssetsMargin": False,
                "tradeGroupId": -1,
                **totals,
                "assets": [asset],
                "positions": positions,
            }
        positions = [
            {
                "symbol": r["pos"].symbol,
                "positionSide": str(r["pos"].position_side),
                "positionAmt": wire.Fmt(r["spec"]).qty(r["pos"].amount),
                "unrealizedProfit": f8(r["upnl"]),
                "isolatedMargin": "0",
                "notional": f8(r["notional"]),
                "isolatedWallet": "0",
                "initialMargin": f8(r["im"]),
                "maintMargin": f8(r["mm"]),
                "updateTime": r["pos"].update_time_ms,
            }
            for r in rows
            if r["pos"].amount != 0
        ]
        return {**totals, "assets": [asset], "positions": positions}

    def balance(self, c: Ctx) -> list[Any]:
        v = c.venue
        acct = v.engine.account(c.account)
        upnl = sum((r["upnl"] for r in self._positions(c)), Decimal(0))
        available = v.engine.available_balance(c.account)
        return [
            {
                "accountAlias": "SimFutures",
                "asset": acct.asset,
                "balance": wire.fmt(acct.wallet_balance, 8),
                "crossWalletBalance": wire.fmt(acct.wallet_balance, 8),
                "crossUnPnl": wire.fmt(upnl, 8),
                "availableBalance": wire.fmt(available, 8),
                "maxWithdrawAmount": wire.fmt(max(Decimal(0), min(available, acct.wallet_balance)), 8),
                "marginAvailable": True,
                "updateTime": acct.update_time_ms,
            }
        ]

    def position_risk(self, c: Ctx, version: int) -> list[Any]:
        symbol = c.params.symbol(c.venue, required=False)
        out = []
        for r in self._positions(c):
            pos = r["pos"]
            if symbol and pos.symbol != symbol:
                continue
            if version == 3 and pos.amount == 0:
                continue
            f = wire.Fmt(r["spec"])
            row = {
                "symbol": pos.symbol,
                "positionSide": str(pos.position_side),
                "positionAmt": f.qty(pos.amount),
                "entryPrice": wire.fmt(pos.entry_price, 8 if pos.amount else 1),
                "breakEvenPrice": wire.plain(pos.break_even_price),
                "markPrice": wire.fmt(r["mark"], 8),
                "unRealizedProfit": wire.fmt(r["upnl"], 8),
                "liquidationPrice": f.px(max(r["liq"], Decimal(0)).quantize(r["spec"].tick_size)),
                "isolatedMargin": "0.00000000",
                "notional": wire.plain(r["notional"]),
                "marginAsset": r["spec"].margin_asset,
                "isolatedWallet": "0",
                "updateTime": pos.update_time_ms,
            }
            if version == 2:
                row.update(
                    {
                        "leverage": str(r["leverage"]),
                        "maxNotionalValue": "250000",
                        "marginType": "isolated" if r["isolated"] else "cross",
                        "isAutoAddMargin": "false",
                    }
                )
            else:
                row.update(
                    {
                        "initialMargin": wire.fmt(r["im"], 8),
                        "maintMargin": wire.fmt(r["mm"], 8),
                        "positionInitialMargin": wire.fmt(r["im"], 8),
                        "openOrderInitialMargin": wire.fmt(r["open_im"], 8),
                        "adl": 0,
                        "bidNotional": wire.plain(r["bid"]),
                        "askNotional": wire.plain(r["ask"]),
                    }
                )
            out.append(row)
        return out

    def get_dual(self, c: Ctx) -> dict[str, Any]:
        return {"dualSidePosition": c.venue.engine.account(c.account).hedge_mode}

    def set_dual(self, c: Ctx) -> dict[str, Any]:
        value = c.params.flag("dualSidePosition")
        if value is None:
            raise errors.mandatory("dualSidePosition")
        if c.venue.engine.account(c.account).hedge_mode == value:
            raise BinanceError(-4059, "No need to change position side.")
        ops.call(lambda: c.venue.engine.set_position_mode(c.account, value), errors.CTX_CONFIG)
        return {"code": 200, "msg": "success"}

    def symbol_config(self, c: Ctx) -> list[Any]:
        symbols, _ = self._symbols(c)
        acct = c.venue.engine.account(c.account)
        return [
            {
                "symbol": s,
                "marginType": str(acct.margin_type.get(s, MarginType.CROSSED)),
                "isAutoAddMargin": False,
                "leverage": acct.leverage.get(s, 20),
                "maxNotionalValue": "250000",
            }
            for s in symbols
        ]

    def leverage_bracket(self, c: Ctx) -> Any:
        # One bracket per symbol: the simulator's margin model has a single maintenance rate.
        symbols, single = self._symbols(c)
        rows = []
        for s in symbols:
            spec = c.venue.specs[s]
            bracket = {
                "bracket": 1,
                "initialLeverage": spec.max_leverage,
                "notionalCap": 1_000_000_000,
                "notionalFloor": 0,
                "maintMarginRatio": float(spec.maint_margin_percent / 100),
                "cum": 0.0,
            }
            rows.append({"symbol": s, "notionalCoef": 1.0, "brackets": [bracket]})
        return rows[0] if single else rows

    def account_config(self, c: Ctx) -> dict[str, Any]:
        acct = c.venue.engine.account(c.account)
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": acct.hedge_mode,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }

    def commission_rate(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        acct = c.venue.engine.account(c.account)
        return {
            "symbol": symbol,
            "makerCommissionRate": wire.plain(acct.maker_commission),
            "takerCommissionRate": wire.plain(acct.taker_commission),
            "rpiCommissionRate": "0",
        }

    def set_leverage(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        leverage = c.params.integer("leverage", required=True)
        assert leverage is not None
        try:
            lev = c.venue.engine.set_leverage(c.account, symbol, leverage)
        except VenueReject:
            raise BinanceError(-4028, f"Leverage {leverage} is not valid") from None
        return {"leverage": lev, "maxNotionalValue": "250000", "symbol": symbol}

    def set_margin_type(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        raw = c.params.req("marginType").upper()
        if raw == "CROSS":
            raw = "CROSSED"
        try:
            mt = MarginType(raw)
        except ValueError:
            raise errors.invalid_param("marginType") from None
        acct = c.venue.engine.account(c.account)
        if acct.margin_type.get(symbol, MarginType.CROSSED) == mt:
            raise BinanceError(-4046, "No need to change margin type.")
        try:
            c.venue.engine.set_margin_type(c.account, symbol, mt)
        except VenueReject:
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.") from None
        c.venue.margin_types[(c.account, symbol)] = wire.margin_type_wire(mt)
        return {"code": 200, "msg": "success"}

    # --- listen keys ---------------------------------------------------------------------------
    def listen_key_new(self, c: Ctx) -> dict[str, Any]:
        lk = c.venue.listen_keys.create_or_extend(c.account)
        return {"listenKey": lk.key}

    def listen_key_keepalive(self, c: Ctx) -> dict[str, Any]:
        c.venue.listen_keys.keepalive(c.account, c.params.get("listenKey"))
        return {}

    def listen_key_delete(self, c: Ctx) -> dict[str, Any]:
        lk = c.venue.listen_keys.delete(c.account, c.params.get("listenKey"))
        c.venue.user.deleted(lk)
        return {}


def _sym_weight(with_symbol: int, without: int) -> Callable[[Params], int]:
    return lambda p: with_symbol if p.get("symbol") else without


def _depth_weight(p: Params) -> int:
    try:
        limit = int(p.get("limit") or 500)
    except ValueError:
        return 2
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def _batch_count(p: Params) -> int:
    raw = p.get("batchOrders")
    if raw is None:
        return 0
    try:
        items = decode(raw)
    except MalformedJson:
        return 0
    return len(items) if isinstance(items, list) else 0


__all__ = ["Ctx", "OrderType", "PositionSide", "RateLimiter", "RestApi"]
