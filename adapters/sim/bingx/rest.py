"""BingX REST routes under ``/openApi/...``: market data, signed trading and account endpoints,
the listen-key endpoints, per-endpoint rate limits and the REST side of fault injection.

Every answer is the ``{"code", "msg", "data"}`` envelope (v1 endpoints add ``timestamp``) with
HTTP 200, business errors included; the listen-key endpoints answer bare JSON / HTTP status
(200, 404 for an unknown key). Rate limits are per account (per client IP for public market
data) and per endpoint, in fixed windows, reported on every response in
``X-RateLimit-Requests-Remain`` and ``X-RateLimit-Requests-Expire`` (epoch ms the window ends);
going over answers HTTP 429 with code 100410.

Malformed input always gets the envelope: parameter errors are ``80014`` "Invalid parameters, ..."
(HTTP 200, as the venue sends business errors), anything a route did not foresee is caught by the
middleware and answered ``100500`` "Internal system error" (HTTP 500, JSON), never aiohttp's
plain-text 500.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeAlias

from aiohttp import web

from adapters.sim import rest_api
from adapters.sim.bingx import errors, wire
from adapters.sim.bingx.errors import BingxError
from adapters.sim.bingx.signing import ApiKey, authenticate, lookup_key
from adapters.sim.bingx.specs import CONTRACT_IDS
from adapters.sim.faults import FailRule
from adapters.sim.market_feed import INTERVAL_MS
from adapters.sim.model import (
    AlgoOrder,
    AlgoRequest,
    MarginType,
    Order,
    OrderRequest,
    OrderType,
    PositionSide,
    RejectReason,
    Side,
    TimeInForce,
    Trade,
    VenueReject,
    WorkingType,
)
from adapters.sim.params import Params as ParamsBase
from adapters.sim.rest_api import RawRequest, json_response
from adapters.sim.wirejson import MalformedJson, decode

if TYPE_CHECKING:
    from adapters.sim.bingx.app import BingxVenue


V1 = "/openApi/swap/v1"
V2 = "/openApi/swap/v2"
V3 = "/openApi/swap/v3"
LISTEN_KEY_PATH = "/openApi/user/auth/userDataStream"

PUBLIC = "public"
SIGNED = "signed"
API_KEY = "api_key"  # listen key: the header is enough (a signature is tolerated)

HEADER_REMAIN = "X-RateLimit-Requests-Remain"
HEADER_EXPIRE = "X-RateLimit-Requests-Expire"
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
FILL_HISTORY_WINDOW_MS = 7 * 86_400_000
CLIENT_ID_MAX = 40
VST_CREDIT = Decimal("20000")
_NUMBER_RE = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")

_TYPE_MAP: dict[str, OrderType] = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
    "TRIGGER_LIMIT": OrderType.STOP,
    "TRIGGER_MARKET": OrderType.STOP_MARKET,
    "TRAILING_STOP_MARKET": OrderType.TRAILING_STOP_MARKET,
}
_TIF_MAP = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "POSTONLY": TimeInForce.GTX,
}


# ------------------------------------------------------------------------------------------------
# Rate limits: fixed windows per (account or IP, method, path)
# ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Limit:
    requests: int
    window_ms: int


DEFAULT_LIMITS: dict[tuple[str, str], Limit] = {
    ("POST", f"{V2}/trade/order"): Limit(10, 1000),
    ("GET", f"{V1}/positionSide/dual"): Limit(2, 1000),
    ("POST", f"{V1}/positionSide/dual"): Limit(2, 1000),
    ("GET", f"{V2}/trade/marginType"): Limit(2, 1000),
    ("POST", f"{V2}/trade/marginType"): Limit(2, 1000),
}
DEFAULT_PRIVATE = Limit(5, 1000)
PUBLIC_GROUP = Limit(500, 10_000)  # IP group 1: all market endpoints share it


class RateLimiter:
    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.limits = dict(DEFAULT_LIMITS)
        self.reset()

    def reset(self) -> None:
        self._windows: dict[tuple[str, str, str], tuple[int, int]] = {}  # key -> (window idx, used)
        self.refused = 0

    @staticmethod
    def now_ms() -> int:
        return time.time_ns() // 1_000_000

    def limit_for(self, method: str, path: str, public: bool) -> Limit:
        base = PUBLIC_GROUP if public else self.limits.get((method, path), DEFAULT_PRIVATE)
        return Limit(max(1, int(base.requests * self.scale)), base.window_ms)

    def hit(self, who: str, method: str, path: str, public: bool) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, window end in epoch ms)."""
        limit = self.limit_for(method, path, public)
        key = (who, "*" if public else method, "*" if public else path)
        now = self.now_ms()
        idx = now // limit.window_ms
        w, used = self._windows.get(key, (idx, 0))
        if w != idx:
            used = 0
        end = (idx + 1) * limit.window_ms
        if used >= limit.requests:
            self.refused += 1
            return False, 0, end
        used += 1
        self._windows[key] = (idx, used)
        return True, limit.requests - used, end


# ------------------------------------------------------------------------------------------------
# Parameters
# ------------------------------------------------------------------------------------------------


class Params(ParamsBase):
    def missing(self, name: str) -> BingxError:
        return errors.required(name)

    def not_integer(self, name: str) -> BingxError:
        return errors.invalid(f"{name}: must be an integer")

    def not_flag(self, name: str) -> BingxError:
        return errors.invalid(f"{name}: must be true or false")

    def dec(self, name: str, required: bool = False) -> Decimal | None:
        raw = self.req(name) if required else self.get(name)
        if raw is None:
            return None
        if not _NUMBER_RE.match(raw):  # Decimal() also reads "1_000", " 1" and "NaN"
            raise errors.invalid(f"{name}: must be a number")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise errors.invalid(f"{name}: must be a number") from None
        # NaN, Infinity and 1e999999 would make the engine's arithmetic fail.
        if not value.is_finite() or not -20 <= value.adjusted() <= 20:
            raise errors.invalid(f"{name}: must be a number")
        return value

    def symbol(self, venue: BingxVenue, required: bool = True) -> str | None:
        raw = self.req("symbol") if required else self.get("symbol")
        if raw is None:
            return None
        symbol = raw.upper()
        if symbol not in venue.specs:
            raise BingxError(errors.SYMBOL_NOT_EXIST, f"symbol {raw} not exist")
        return symbol

    def client_id(self) -> tuple[str | None, str]:
        """(lowercased client id, the spelling used); both spellings are accepted."""
        for spelling in ("clientOrderId", "clientOrderID"):
            raw = self.get(spelling)
            if raw is not None:
                if len(raw) > CLIENT_ID_MAX:
                    raise errors.invalid(f"{spelling}: length must be 1-{CLIENT_ID_MAX}")
                return raw.lower(), spelling
        return None, "clientOrderId"

    def json_list(self, name: str) -> list[Any] | None:
        raw = self.get(name)
        if raw is None:
            return None
        try:
            value = decode(raw)
        except MalformedJson:
            raise errors.invalid(f"{name}: must be a JSON array") from None
        if not isinstance(value, list):
            raise errors.invalid(f"{name}: must be a JSON array")
        return value


# ------------------------------------------------------------------------------------------------
# Routing
# ------------------------------------------------------------------------------------------------

Ctx: TypeAlias = rest_api.Ctx["BingxVenue", Params, ApiKey]
Handler = Callable[[Ctx], Any]


@dataclass(slots=True)
class Route(rest_api.Route):
    envelope: bool = True
    stamp: bool = False  # v1 endpoints add "timestamp" to the envelope


class RestApi(rest_api.RestApi["BingxVenue", Route]):
    PREFIX = "/openApi/"
    API_KEY_HEADER = "X-BX-APIKEY"

    def add(
        self, method: str, path: str, fn: Handler, security: str = PUBLIC, *, envelope: bool = True
    ) -> None:
        self.routes[(method, path)] = Route(method, path, fn, security, envelope, stamp=path.startswith(V1))

    def _json_body_params(self, raw: str) -> dict[str, str]:
        try:
            obj = decode(raw) if raw.strip() else {}
        except MalformedJson:  # bad syntax or nested too deep: read as no parameters
            obj = {}
        return Params.from_json(obj).data if isinstance(obj, dict) else {}

    async def _execute(
        self, route: Route, raw: RawRequest, request: web.Request | None
    ) -> web.StreamResponse:
        """Authenticate, rate-limit and run one request (also what a late execution runs, with
        ``request`` None)."""
        v = self.venue
        p = Params(raw.params)
        headers: dict[str, str] = {}
        now = v.faults.server_time_ms()
        try:
            key: ApiKey | None = None
            if route.security == SIGNED:
                key = authenticate(v.keys, raw.api_key, raw.raw_query, raw.body, raw.params, now)
            elif route.security == API_KEY:
                key = lookup_key(v.keys, raw.api_key, now)
            who = key.account_id if key is not None else raw.remote
            allowed, remain, expire = v.limiter.hit(who, route.method, route.path, route.security == PUBLIC)
            headers[HEADER_REMAIN] = str(remain)
            headers[HEADER_EXPIRE] = str(expire)
            if not allowed:
                raise errors.rate_limited()
            result = route.fn(rest_api.Ctx(v, request, p, key))
            if inspect.isawaitable(result):
                result = await result
        except BingxError as err:
            return json_response(err.body(), err.status, headers)
        except VenueReject as reject:
            return json_response(errors.from_reject(reject).body(), 200, headers)
        if isinstance(result, web.StreamResponse):
            result.headers.update(headers)
            return result
        if not route.envelope:
            return json_response(result, headers=headers)
        envelope: dict[str, Any] = {"code": 0, "msg": ""}
        if route.stamp:
            envelope["timestamp"] = now
        envelope["data"] = result
        return json_response(envelope, headers=headers)

    # --- what the shared middleware answers ------------------------------------------------------
    def _unknown_route(self, request: web.Request, method_not_allowed: bool) -> web.Response:
        return json_response(
            {"code": 100400, "msg": f"this api is not exist: {request.method} {request.path}"}, 404
        )

    def _internal_error(self) -> web.Response:
        return json_response({"code": errors.INTERNAL, "msg": "Internal system error", "data": {}}, 500)

    def _accepted(self, response: web.StreamResponse, answer: Any) -> bool:
        # Business errors come back with HTTP 200 and a non-zero code.
        return response.status == 200 and not (isinstance(answer, dict) and answer.get("code"))

    def _fail_response(self, rule: FailRule) -> web.Response:
        if rule.code is not None:
            # A business error: BingX sends it with HTTP 200 unless the rule says otherwise.
            body = {"code": rule.code, "msg": rule.msg or "injected failure", "data": {}}
            return json_response(body, rule.status)
        defaults = {
            429: (errors.RATE_LIMITED, "rate limit exceeded"),
            500: (errors.INTERNAL, "Internal system error"),
            503: (errors.SERVICE_UNAVAILABLE, "service unavailable"),
            504: (errors.SERVICE_UNAVAILABLE, "The server failed to get a response"),
        }
        code, msg = defaults.get(rule.status, (errors.INTERNAL, "injected failure"))
        return json_response({"code": code, "msg": rule.msg or msg, "data": {}}, rule.status)

    # --- route table ------------------------------------------------------------------------------
    def _define(self) -> None:
        a = self.add
        # market data
        a("GET", f"{V2}/server/time", lambda c: {"serverTime": c.venue.faults.server_time_ms()})
        a("GET", f"{V2}/quote/contracts", self.contracts)
        a("GET", f"{V2}/quote/depth", self.depth)
        a("GET", f"{V2}/quote/trades", self.trades)
        a("GET", f"{V2}/quote/premiumIndex", self.premium_index)
        a("GET", f"{V2}/quote/fundingRate", self.funding_rate)
        a("GET", f"{V3}/quote/klines", self.klines)
        a("GET", f"{V2}/quote/ticker", self.ticker)
        a("GET", f"{V2}/quote/bookTicker", self.book_ticker)
        a("GET", f"{V1}/ticker/price", self.ticker_price)
        a("GET", f"{V2}/quote/openInterest", self.open_interest)
        # orders
        a("POST", f"{V2}/trade/order", self.new_order, SIGNED)
        a("POST", f"{V2}/trade/order/test", self.test_order, SIGNED)
        a("POST", f"{V2}/trade/batchOrders", self.batch_orders, SIGNED)
        a("DELETE", f"{V2}/trade/order", self.cancel_order, SIGNED)
        a("DELETE", f"{V2}/trade/batchOrders", self.cancel_batch, SIGNED)
        a("DELETE", f"{V2}/trade/allOpenOrders", self.cancel_all, SIGNED)
        a("GET", f"{V2}/trade/order", self.query_order, SIGNED)
        a("GET", f"{V2}/trade/openOrder", self.open_order, SIGNED)
        a("GET", f"{V2}/trade/openOrders", self.open_orders, SIGNED)
        a("GET", f"{V2}/trade/allOrders", lambda c: self.history(c, include_open=False), SIGNED)
        a("GET", f"{V1}/trade/fullOrder", lambda c: self.history(c, include_open=True), SIGNED)
        a("GET", f"{V2}/trade/allFillOrders", self.all_fill_orders, SIGNED)
        a("GET", f"{V2}/trade/fillHistory", self.fill_history, SIGNED)
        a("POST", f"{V2}/trade/closeAllPositions", self.close_all_positions, SIGNED)
        # account
        a("GET", f"{V2}/user/balance", self.balance_v2, SIGNED)
        a("GET", f"{V3}/user/balance", self.balance_v3, SIGNED)
        a("GET", f"{V2}/user/positions", self.positions, SIGNED)
        a("GET", f"{V2}/user/commissionRate", self.commission_rate, SIGNED)
        a("GET", f"{V2}/trade/leverage", self.get_leverage, SIGNED)
        a("POST", f"{V2}/trade/leverage", self.set_leverage, SIGNED)
        a("GET", f"{V2}/trade/marginType", self.get_margin_type, SIGNED)
        a("POST", f"{V2}/trade/marginType", self.set_margin_type, SIGNED)
        a("GET", f"{V1}/positionSide/dual", self.get_dual, SIGNED)
        a("POST", f"{V1}/positionSide/dual", self.set_dual, SIGNED)
        a("POST", f"{V1}/trade/getVst", self.get_vst, SIGNED)
        # listen keys (bare JSON / HTTP status)
        a("POST", LISTEN_KEY_PATH, self.listen_key_new, API_KEY, envelope=False)
        a("PUT", LISTEN_KEY_PATH, self.listen_key_extend, PUBLIC, envelope=False)
        a("DELETE", LISTEN_KEY_PATH, self.listen_key_delete, PUBLIC, envelope=False)

    # --- market data ------------------------------------------------------------------------------
    def _symbols(self, c: Ctx) -> tuple[list[str], bool]:
        symbol = c.params.symbol(c.venue, required=False)
        return ([symbol], True) if symbol else (list(c.venue.specs), False)

    def contracts(self, c: Ctx) -> list[Any]:
        symbols, _ = self._symbols(c)
        out: list[dict[str, Any]] = []
        for s in symbols:
            spec = c.venue.specs[s]
            acct_fee = c.venue.default_fees
            out.append(
                {
                    "contractId": CONTRACT_IDS.get(s, str(1000 + len(out))),
                    "symbol": s,
                    "size": "0",
                    "quantityPrecision": spec.quantity_precision,
                    "pricePrecision": spec.price_precision,
                    "feeRate": float(acct_fee[1]),
                    "makerFeeRate": float(acct_fee[0]),
                    "takerFeeRate": float(acct_fee[1]),
                    "tradeMinLimit": 0,
                    "tradeMinQuantity": float(spec.min_qty),
                    "tradeMinUSDT": float(spec.min_notional),
                    "maxLongLeverage": spec.max_leverage,
                    "maxShortLeverage": spec.max_leverage,
                    "currency": spec.quote_asset,
                    "asset": spec.base_asset,
                    "status": 1,
                    "apiStateOpen": "true",
                    "apiStateClose": "true",
                    "ensureTrigger": True,
                    "triggerFeeRate": "0.00020000",
                    "brokerState": "true",
                    "launchTime": spec.onboard_date_ms,
                    "maintainTime": 0,
                    "offTime": 0,
                    "displayName": s,
                }
            )
        return out

    def depth(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        limit = c.params.integer("limit") or 20
        if limit not in DEPTH_LIMITS:
            raise errors.invalid("limit: must be one of 5, 10, 20, 50, 100, 500, 1000")
        book = c.venue.engine.book(symbol, limit)
        f = wire.Fmt(c.venue.specs[symbol])
        return {
            "T": book.time_ms,
            "bids": wire.levels(book.bids, f),
            "asks": wire.levels(book.asks, f),
            "bidsCoin": wire.levels(book.bids, f),
            "asksCoin": wire.levels(book.asks, f),
        }

    def trades(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        limit = min(c.params.integer("limit") or 500, 1000)
        f = wire.Fmt(c.venue.specs[symbol])
        return [
            {
                "time": t.time_ms,
                "isBuyerMaker": t.buyer_is_maker,
                "price": f.px(t.price),
                "qty": f.qty(t.qty),
                "quoteQty": wire.fixed(t.price * t.qty, 4),
            }
            for t in c.venue.engine.public_trades(symbol, limit=limit)
        ]

    def premium_index(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        rows = []
        for s in symbols:
            m = c.venue.engine.mark_price(s)
            f = wire.Fmt(c.venue.specs[s])
            rows.append(
                {
                    "symbol": s,
                    "markPrice": f.px(m.mark_price),
                    "indexPrice": f.px(m.index_price),
                    "lastFundingRate": wire.fixed(m.funding_rate, 6),
                    "nextFundingTime": m.next_funding_time_ms,
                }
            )
        return rows[0] if single else rows

    def funding_rate(self, c: Ctx) -> list[Any]:
        symbols, _ = self._symbols(c)
        rows = []
        for s in symbols:
            m = c.venue.engine.mark_price(s)
            t = m.next_funding_time_ms - 8 * 3_600_000
            for i in range(3):
                rows.append(
                    {
                        "symbol": s,
                        "fundingRate": wire.fixed(m.funding_rate, 6),
                        "fundingTime": t - i * 8 * 3_600_000,
                    }
                )
        return rows

    def klines(self, c: Ctx) -> list[Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        interval = c.params.req("interval")
        if interval not in INTERVAL_MS:
            raise BingxError(errors.VALIDATION, "interval: invalid")
        limit = c.params.integer("limit") or 500
        if limit > 1440:
            raise BingxError(errors.VALIDATION, "limit: must be less than or equal to 1440")
        rows = c.venue.engine.klines(
            symbol,
            INTERVAL_MS[interval],
            start_ms=c.params.integer("startTime"),
            end_ms=c.params.integer("endTime"),
            limit=limit,
        )
        spec = c.venue.specs[symbol]
        return [wire.kline_rest(k, spec) for k in rows]

    def ticker(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        now = c.venue.faults.server_time_ms()
        rows = []
        for s in symbols:
            e = c.venue.engine
            f = wire.Fmt(c.venue.specs[s])
            ks = e.klines(s, 3_600_000, start_ms=now - 86_400_000, end_ms=now, limit=25)
            last = e.last_price(s)
            open_ = ks[0].open if ks else last
            book = e.book(s, 1)
            bid = book.bids[0] if book.bids else (Decimal(0), Decimal(0))
            ask = book.asks[0] if book.asks else (Decimal(0), Decimal(0))
            change = last - open_
            rows.append(
                {
                    "symbol": s,
                    "priceChange": f.px(change),
                    "priceChangePercent": wire.fixed(change / open_ * 100 if open_ else 0, 2),
                    "lastPrice": f.px(last),
                    "lastQty": f.qty(Decimal(0)),
                    "highPrice": f.px(max((k.high for k in ks), default=last)),
                    "lowPrice": f.px(min((k.low for k in ks), default=last)),
                    "volume": f.qty(sum((k.volume for k in ks), Decimal(0))),
                    "quoteVolume": wire.fixed(sum((k.quote_volume for k in ks), Decimal(0)), 2),
                    "openPrice": f.px(open_),
                    "openTime": ks[0].open_time_ms if ks else now - 86_400_000,
                    "closeTime": now,
                    "bidPrice": f.px(bid[0]),
                    "bidQty": f.qty(bid[1]),
                    "askPrice": f.px(ask[0]),
                    "askQty": f.qty(ask[1]),
                }
            )
        return rows[0] if single else rows

    def book_ticker(self, c: Ctx) -> Any:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        book = c.venue.engine.book(symbol, 1)
        bid = book.bids[0] if book.bids else (Decimal(0), Decimal(0))
        ask = book.asks[0] if book.asks else (Decimal(0), Decimal(0))
        return {
            "book_ticker": {
                "symbol": symbol,
                "bid_price": float(bid[0]),
                "bid_qty": float(bid[1]),
                "ask_price": float(ask[0]),
                "ask_qty": float(ask[1]),
            }
        }

    def ticker_price(self, c: Ctx) -> Any:
        symbols, single = self._symbols(c)
        now = c.venue.faults.server_time_ms()
        rows = [
            {"symbol": s, "price": wire.Fmt(c.venue.specs[s]).px(c.venue.engine.last_price(s)), "time": now}
            for s in symbols
        ]
        return rows[0] if single else rows

    def open_interest(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        return {"openInterest": "0", "symbol": symbol, "time": c.venue.faults.server_time_ms()}

    # --- orders -----------------------------------------------------------------------------------
    def _place(self, c: Ctx, p: Params, *, test: bool = False) -> dict[str, Any]:
        v = c.venue
        account = c.account
        symbol = p.symbol(v)
        assert symbol is not None
        spec = v.specs[symbol]
        acct = v.engine.account(account)
        side_raw = p.req("side").upper()
        if side_raw not in ("BUY", "SELL"):
            raise errors.invalid("side: must be BUY or SELL")
        side = Side(side_raw)
        type_raw = p.req("type").upper()
        otype = _TYPE_MAP.get(type_raw)
        if otype is None:
            raise errors.invalid(f"type: {type_raw} is not supported")
        ps_raw = (p.get("positionSide") or ("LONG" if acct.hedge_mode else "BOTH")).upper()
        try:
            position_side = PositionSide(ps_raw)
        except ValueError:
            raise errors.invalid("positionSide: must be BOTH, LONG or SHORT") from None
        reduce_only = bool(p.flag("reduceOnly"))
        if acct.hedge_mode and reduce_only:
            raise BingxError(errors.VALIDATION, "In the Hedge mode, the 'ReduceOnly' field can not be filled")
        close_position = bool(p.flag("closePosition"))
        quantity = p.dec("quantity")
        if close_position:
            if otype not in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
                raise errors.invalid("closePosition: only for STOP_MARKET and TAKE_PROFIT_MARKET")
            pos = [x for x in v.engine.positions(account, symbol) if x.position_side is position_side]
            quantity = abs(pos[0].amount) if pos else Decimal(0)
            if quantity == 0:
                raise BingxError(errors.NO_POSITION_TO_CLOSE, "No position to close")
            reduce_only = position_side is PositionSide.BOTH
        if quantity is None:
            raise errors.invalid("parameter quantity is must")
        quantity = wire.truncate(quantity, spec.step_size)
        price = p.dec("price")
        if price is not None:
            price = wire.truncate(price, spec.tick_size)
        stop_price = p.dec("stopPrice")
        if stop_price is not None:
            stop_price = wire.truncate(stop_price, spec.tick_size)
        tif_raw = (p.get("timeInForce") or "GTC").upper()
        tif = _TIF_MAP.get(tif_raw)
        if tif is None:
            raise errors.invalid("timeInForce: must be GTC, IOC, FOK or PostOnly")
        wt_raw = (p.get("workingType") or "MARK_PRICE").upper()
        if wt_raw not in ("MARK_PRICE", "CONTRACT_PRICE", "INDEX_PRICE"):
            raise errors.invalid("workingType")
        client_id, spelling = p.client_id()
        if client_id is not None and (account, client_id) in v.client_ids_used:
            raise BingxError(errors.DUPLICATE_CLIENT_ID, "clientOrderID cannot be repeated")
        price_rate = p.dec("priceRate")
        extras = wire.OrderExtras(
            type=type_raw if type_raw != otype.value else "",
            client_given=client_id is not None,
            client_spelling=spelling,
            working_type=wt_raw,
            post_only=tif is TimeInForce.GTX,
            close_position=close_position,
            price_rate=price_rate or Decimal(0),
            stop_guaranteed=(p.get("stopGuaranteed") or "false").lower() == "true",
        )
        if otype in (OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT) and price is None:
            raise errors.invalid("price: This field is required.")
        if test:
            return {
                "order": {
                    "symbol": symbol,
                    "orderId": 0,
                    "side": side.value,
                    "positionSide": position_side.value,
                    "type": type_raw,
                    spelling: client_id or "",
                    "workingType": wt_raw,
                }
            }
        if otype in (OrderType.LIMIT, OrderType.MARKET):
            request = OrderRequest(
                symbol=symbol,
                side=side,
                type=otype,
                quantity=quantity,
                price=price if otype is OrderType.LIMIT else None,
                time_in_force=tif if otype is OrderType.LIMIT else TimeInForce.GTC,
                position_side=position_side,
                reduce_only=reduce_only,
                client_order_id=client_id,
            )
            with v.pending(extras):
                order = self._engine(c, lambda: v.engine.place_order(account, request))
            if client_id is not None:
                v.client_ids_used.add((account, client_id))
            return {"order": v.order_json(order) | {"quantity": wire.Fmt(spec).qty(order.orig_qty)}}
        working = WorkingType.CONTRACT_PRICE if wt_raw == "CONTRACT_PRICE" else WorkingType.MARK_PRICE
        callback = None
        if otype is OrderType.TRAILING_STOP_MARKET:
            if price_rate is None:
                raise errors.invalid("priceRate: This field is required.")
            if not Decimal(0) < price_rate <= 1:
                raise errors.invalid("priceRate: must be in (0, 1]")
            callback = price_rate * 100
        algo_request = AlgoRequest(
            symbol=symbol,
            side=side,
            type=otype,
            quantity=quantity,
            trigger_price=stop_price if otype is not OrderType.TRAILING_STOP_MARKET else None,
            price=price,
            time_in_force=TimeInForce.GTC if tif is TimeInForce.GTX else tif,
            position_side=position_side,
            reduce_only=reduce_only,
            working_type=working,
            activate_price=p.dec("activationPrice"),
            callback_rate=callback,
            client_algo_id=client_id,
        )
        if otype is not OrderType.TRAILING_STOP_MARKET and stop_price is None:
            raise errors.invalid("stopPrice: This field is required.")
        with v.pending(extras):
            algo = self._engine(c, lambda: v.engine.place_algo(account, algo_request))
        if client_id is not None:
            v.client_ids_used.add((account, client_id))
        return {"order": v.algo_json(algo) | {"quantity": wire.Fmt(spec).qty(algo.quantity)}}

    @staticmethod
    def _engine(c: Ctx, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except VenueReject as reject:
            raise errors.from_reject(
                reject, hedge_mode=c.venue.engine.account(c.account).hedge_mode
            ) from None

    def new_order(self, c: Ctx) -> dict[str, Any]:
        return self._place(c, c.params)

    def test_order(self, c: Ctx) -> dict[str, Any]:
        return self._place(c, c.params, test=True)

    def batch_orders(self, c: Ctx) -> dict[str, Any]:
        items = c.params.json_list("batchOrders")
        if items is None:
            raise errors.required("batchOrders")
        if not 1 <= len(items) <= 5:
            raise errors.invalid("batchOrders: 1 to 5 orders")
        orders: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                raise errors.invalid("batchOrders: each order must be an object")
            try:
                orders.append(self._place(c, Params.from_json(item))["order"])
            except BingxError as err:
                # Per-order failures are reported in place; the batch itself succeeds.
                orders.append({"code": err.code, "msg": err.msg})
        return {"orders": orders}

    def _ref(self, c: Ctx, p: Params) -> tuple[str, int | None, str | None]:
        symbol = p.symbol(c.venue)
        assert symbol is not None
        order_id = p.integer("orderId")
        client_id, _ = p.client_id()
        if order_id is None and client_id is None:
            raise errors.invalid("orderId or clientOrderId: one of them is required")
        return symbol, order_id, client_id

    def _cancel(self, c: Ctx, symbol: str, order_id: int | None, client_id: str | None) -> dict[str, Any]:
        v = c.venue
        account = c.account
        target = v.resolve(account, symbol, order_id, client_id)
        if isinstance(target, AlgoOrder):
            if target.actual_order_id is not None:
                order = self._engine(
                    c, lambda: v.engine.cancel_order(account, symbol, order_id=target.actual_order_id)
                )
                return v.order_json(order)
            algo = self._engine(c, lambda: v.engine.cancel_algo(account, algo_id=target.algo_id))
            return v.algo_json(algo)
        order = self._engine(c, lambda: v.engine.cancel_order(account, symbol, order_id=target.order_id))
        return v.order_json(order)

    def cancel_order(self, c: Ctx) -> dict[str, Any]:
        symbol, order_id, client_id = self._ref(c, c.params)
        return {"order": self._cancel(c, symbol, order_id, client_id)}

    def cancel_batch(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        ids = c.params.json_list("orderIdList")
        cids = c.params.json_list("clientOrderIdList")
        if not ids and not cids:
            raise errors.invalid("orderIdList or clientOrderIdList: one of them is required")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids or []):
            raise errors.invalid("orderIdList: must be a JSON array of integers")
        if not all(isinstance(x, str | int) for x in cids or []):
            raise errors.invalid("clientOrderIdList: must be a JSON array of strings")
        refs: list[tuple[int | None, str | None]] = [(int(i), None) for i in ids or []]
        refs += [(None, str(x).lower()) for x in cids or []]
        if len(refs) > 10:
            raise errors.invalid("orderIdList: at most 10 ids")
        success: list[Any] = []
        failed: list[Any] = []
        for order_id, client_id in refs:
            try:
                success.append(self._cancel(c, symbol, order_id, client_id))
            except BingxError as err:
                failed.append(
                    {
                        "orderId": order_id or 0,
                        "clientOrderId": client_id or "",
                        "errorCode": err.code,
                        "errorMessage": err.msg,
                    }
                )
        return {"success": success, "failed": failed}

    def cancel_all(self, c: Ctx) -> dict[str, Any]:
        v = c.venue
        symbols, _ = self._symbols(c)
        success: list[Any] = []
        for s in symbols:
            for algo in v.engine.cancel_all_algos(c.account, s):
                success.append(v.algo_json(algo))
            for order in v.engine.cancel_all_orders(c.account, s):
                success.append(v.order_json(order))
        return {"success": success, "failed": None}

    def query_order(self, c: Ctx) -> dict[str, Any]:
        symbol, order_id, client_id = self._ref(c, c.params)
        return {"order": c.venue.render(c.venue.resolve(c.account, symbol, order_id, client_id))}

    def open_order(self, c: Ctx) -> dict[str, Any]:
        symbol, order_id, client_id = self._ref(c, c.params)
        target = c.venue.resolve(c.account, symbol, order_id, client_id)
        rendered = c.venue.render(target)
        if rendered["status"] not in ("NEW", "PENDING", "PARTIALLY_FILLED"):
            raise errors.order_not_exist()
        return {"order": rendered}

    def open_orders(self, c: Ctx) -> dict[str, Any]:
        v = c.venue
        symbol = c.params.symbol(v, required=False)
        type_filter = (c.params.get("type") or "").upper()
        rows: list[tuple[int, dict[str, Any]]] = []
        for algo in v.engine.open_algos(c.account, symbol):
            if algo.actual_order_id is None:
                rows.append((algo.create_time_ms, v.algo_json(algo)))
        for order in v.engine.open_orders(c.account, symbol):
            rows.append((order.create_time_ms, v.order_json(order)))
        rows.sort(key=lambda r: (r[0], r[1]["orderId"]))
        return {"orders": [r for _, r in rows if not type_filter or r["type"] == type_filter]}

    def history(self, c: Ctx, *, include_open: bool) -> dict[str, Any]:
        v = c.venue
        p = c.params
        symbols, _ = self._symbols(c)
        from_id = p.integer("orderId")
        start, end = p.integer("startTime"), p.integer("endTime")
        limit = min(p.integer("limit") or 500, 1000)
        rows: list[dict[str, Any]] = []
        for s in symbols:
            for order in v.engine.all_orders(c.account, s, limit=1_000_000):
                rows.append(v.order_json(order))
            for algo in v.engine.all_algos(c.account, s, limit=1_000_000):
                if algo.actual_order_id is None:
                    rows.append(v.algo_json(algo))
        open_states = ("NEW", "PENDING", "PARTIALLY_FILLED")
        rows = [
            r
            for r in rows
            if (include_open or r["status"] not in open_states)
            and (from_id is None or r["orderId"] >= from_id)
            and (start is None or r["time"] >= start)
            and (end is None or r["time"] <= end)
        ]
        rows.sort(key=lambda r: (r["time"], r["orderId"]))
        rows = rows[:limit] if (from_id is not None or start is not None) else rows[-limit:]
        return {"orders": rows}

    def _trades(self, c: Ctx, symbols: list[str], order_id: int | None) -> list[Trade]:
        v = c.venue
        out: list[Trade] = []
        engine_order_id = None
        if order_id is not None:
            algo = v.algo_by_id(c.account, order_id)
            engine_order_id = algo.actual_order_id if algo is not None else order_id
            if engine_order_id is None:
                return []
        for s in symbols:
            out.extend(v.engine.account_trades(c.account, s, order_id=engine_order_id, limit=1_000_000))
        out.sort(key=lambda t: (t.time_ms, t.trade_id))
        return out

    def all_fill_orders(self, c: Ctx) -> dict[str, Any]:
        p = c.params
        start = p.integer("startTs", required=True)
        end = p.integer("endTs", required=True)
        unit = (p.get("tradingUnit") or "COIN").upper()
        if unit not in ("COIN", "CONT"):
            raise errors.invalid("tradingUnit: must be COIN or CONT")
        symbols, _ = self._symbols(c)
        v = c.venue
        rows = []
        for t in self._trades(c, symbols, p.integer("orderId")):
            assert start is not None and end is not None
            if not start <= t.time_ms <= end:
                continue
            order = v.engine.get_order(c.account, t.symbol, order_id=t.order_id)
            extras = v.extras_for(order)
            rows.append(
                wire.fill_order_json(
                    t,
                    v.specs.get(t.symbol),
                    order.client_order_id if extras.client_given else "",
                    wire.wire_order_id(order),
                    extras.type or order.orig_type.value,
                )
            )
        return {"fill_orders": rows}

    def fill_history(self, c: Ctx) -> dict[str, Any]:
        p = c.params
        v = c.venue
        start, end = p.integer("startTs"), p.integer("endTs")
        if start is not None and end is None:
            return {"fill_history_orders": [], "total": 0}  # the venue's rule: start-only returns nothing
        now = v.faults.history_now_ms()
        end = end if end is not None else now
        start = start if start is not None else end - FILL_HISTORY_WINDOW_MS
        if end - start > FILL_HISTORY_WINDOW_MS:
            raise errors.invalid("the query range is more than seven days")
        start = max(start, now - FILL_HISTORY_WINDOW_MS - 1)  # the venue keeps 7 days
        last_fill_id = p.integer("lastFillId")
        page_size = min(p.integer("pageSize") or 50, 1000)
        page_index = max(p.integer("pageIndex") or 1, 1)
        symbols, _ = self._symbols(c)
        matches = [
            t
            for t in self._trades(c, symbols, p.integer("orderId"))
            if start < t.time_ms <= end and (last_fill_id is None or t.trade_id > last_fill_id)
        ]
        page = matches[(page_index - 1) * page_size : page_index * page_size]
        rows = []
        for t in page:
            order = v.engine.get_order(c.account, t.symbol, order_id=t.order_id)
            rows.append(wire.fill_history_json(t, v.specs.get(t.symbol), wire.wire_order_id(order)))
        return {"fill_history_orders": rows, "total": len(matches)}

    def close_all_positions(self, c: Ctx) -> dict[str, Any]:
        v = c.venue
        symbols, _ = self._symbols(c)
        success: list[int] = []
        failed: list[Any] = []
        hedge = v.engine.account(c.account).hedge_mode
        for pos in [x for s in symbols for x in v.engine.positions(c.account, s) if x.amount != 0]:
            side = Side.SELL if pos.amount > 0 or pos.position_side is PositionSide.LONG else Side.BUY
            if pos.position_side is PositionSide.SHORT:
                side = Side.BUY
            request = OrderRequest(
                symbol=pos.symbol,
                side=side,
                type=OrderType.MARKET,
                quantity=abs(pos.amount),
                position_side=pos.position_side,
                reduce_only=not hedge,
            )
            try:
                with v.pending(wire.OrderExtras()):
                    success.append(v.engine.place_order(c.account, request).order_id)
            except VenueReject as reject:
                failed.append({"symbol": pos.symbol, "errorCode": errors.from_reject(reject).code})
        return {"success": success, "failed": failed}

    # --- account ------------------------------------------------------------------------------------
    def _balance_row(self, c: Ctx) -> dict[str, Any]:
        v = c.venue
        acct = v.engine.account(c.account)
        upnl = sum(
            (
                v.engine.unrealized_pnl(c.account, pos.symbol, pos.position_side)
                for pos in v.engine.positions(c.account)
                if pos.amount
            ),
            Decimal(0),
        )
        realised = sum((pos.realized_pnl for pos in acct.positions.values()), Decimal(0))
        available = v.engine.available_balance(c.account)
        equity = acct.wallet_balance + upnl
        used = max(Decimal(0), equity - available)
        return {
            "userId": v.user_id(c.account),
            "asset": acct.asset,
            "balance": wire.fixed(acct.wallet_balance, 4),
            "equity": wire.fixed(equity, 4),
            "unrealizedProfit": wire.fixed(upnl, 4),
            "realisedProfit": wire.fixed(realised, 4),
            "availableMargin": wire.fixed(available, 4),
            "usedMargin": wire.fixed(used, 4),
            "freezedMargin": wire.fixed(Decimal(0), 4),
        }

    def balance_v2(self, c: Ctx) -> dict[str, Any]:
        return {"balance": self._balance_row(c) | {"shortUid": c.venue.user_id(c.account)}}

    def balance_v3(self, c: Ctx) -> list[Any]:
        usdc = {
            k: "0"
            for k in (
                "balance",
                "equity",
                "unrealizedProfit",
                "realisedProfit",
                "availableMargin",
                "usedMargin",
                "freezedMargin",
            )
        }
        return [self._balance_row(c), {"userId": c.venue.user_id(c.account), "asset": "USDC", **usdc}]

    def positions(self, c: Ctx) -> list[Any]:
        v = c.venue
        symbol = c.params.symbol(v, required=False)
        acct = v.engine.account(c.account)
        rows = []
        for pos in v.engine.positions(c.account, symbol):
            if pos.amount == 0:
                continue
            spec = v.specs[pos.symbol]
            f = wire.Fmt(spec)
            mark = v.engine.mark_price(pos.symbol).mark_price
            lev = acct.leverage.get(pos.symbol, 20)
            upnl = v.engine.unrealized_pnl(c.account, pos.symbol, pos.position_side)
            value = abs(pos.amount) * mark
            margin = abs(pos.amount) * pos.entry_price / lev
            long_ = pos.amount > 0
            liq = (
                pos.entry_price * (1 - Decimal(1) / lev)
                if long_
                else pos.entry_price * (1 + Decimal(1) / lev)
            )
            rows.append(
                {
                    "positionId": str(v.position_id(c.account, pos.symbol, pos.position_side)),
                    "symbol": pos.symbol,
                    "currency": spec.margin_asset,
                    "positionAmt": f.qty(abs(pos.amount)),
                    "availableAmt": f.qty(abs(pos.amount)),
                    "positionSide": pos.position_side.value
                    if acct.hedge_mode
                    else ("LONG" if long_ else "SHORT"),
                    "isolated": acct.margin_type.get(pos.symbol) is MarginType.ISOLATED,
                    "avgPrice": f.px(pos.entry_price),
                    "initialMargin": wire.fixed(margin, 4),
                    "margin": wire.fixed(margin, 4),
                    "leverage": lev,
                    "unrealizedProfit": wire.fixed(upnl, 4),
                    "realisedProfit": wire.fixed(pos.realized_pnl, 4),
                    "liquidationPrice": float(wire.truncate(max(liq, Decimal(0)), spec.tick_size)),
                    "pnlRatio": wire.fixed(upnl / margin if margin else 0, 4),
                    "maxMarginReduction": "0.0000",
                    "riskRate": "0.0000",
                    "markPrice": f.px(mark),
                    "positionValue": wire.fixed(value, 4),
                    "onlyOnePosition": not acct.hedge_mode,
                    "updateTime": pos.update_time_ms,
                }
            )
        return rows

    def commission_rate(self, c: Ctx) -> dict[str, Any]:
        acct = c.venue.engine.account(c.account)
        return {
            "commission": {
                "takerCommissionRate": float(acct.taker_commission),
                "makerCommissionRate": float(acct.maker_commission),
            }
        }

    def get_leverage(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        spec = c.venue.specs[symbol]
        lev = c.venue.engine.account(c.account).leverage.get(symbol, 20)
        avail = wire.fixed(
            c.venue.engine.available_balance(c.account) * lev / c.venue.engine.last_price(symbol),
            spec.quantity_precision,
        )
        return {
            "longLeverage": lev,
            "shortLeverage": lev,
            "maxLongLeverage": spec.max_leverage,
            "maxShortLeverage": spec.max_leverage,
            "availableLongVol": avail,
            "availableShortVol": avail,
            "availableLongVal": "0",
            "availableShortVal": "0",
            "maxPositionLongVal": "0",
            "maxPositionShortVal": "0",
        }

    def set_leverage(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        side = c.params.req("side").upper()
        if side not in ("LONG", "SHORT", "BOTH"):
            raise errors.invalid("side: must be LONG, SHORT or BOTH")
        leverage = c.params.integer("leverage", required=True)
        assert leverage is not None
        spec = c.venue.specs[symbol]
        if not 1 <= leverage <= spec.max_leverage:
            raise BingxError(
                errors.LEVERAGE_TOO_HIGH,
                f"The maximum leverage for this trading pair is {spec.max_leverage}; "
                "please reduce the leverage",
            )
        lev = self._engine(c, lambda: c.venue.engine.set_leverage(c.account, symbol, leverage))
        return {"leverage": lev, "symbol": symbol, "availableLongVol": "0", "availableShortVol": "0"}

    def get_margin_type(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        mt = c.venue.engine.account(c.account).margin_type.get(symbol, MarginType.CROSSED)
        return {"marginType": mt.value}

    def set_margin_type(self, c: Ctx) -> dict[str, Any]:
        symbol = c.params.symbol(c.venue)
        assert symbol is not None
        raw = c.params.req("marginType").upper()
        if raw == "CROSS":
            raw = "CROSSED"
        try:
            mt = MarginType(raw)
        except ValueError:
            raise errors.invalid("marginType: must be ISOLATED or CROSSED") from None
        try:
            c.venue.engine.set_margin_type(c.account, symbol, mt)
        except VenueReject:
            raise BingxError(
                errors.PENDING_ORDERS_EXIST, "Please check if you have pending orders or positions"
            ) from None
        c.venue.config_changed(c.account, symbol)
        return {}

    def get_dual(self, c: Ctx) -> dict[str, Any]:
        hedge = c.venue.engine.account(c.account).hedge_mode
        return {"dualSidePosition": "true" if hedge else "false"}

    def set_dual(self, c: Ctx) -> dict[str, Any]:
        value = c.params.flag("dualSidePosition")
        if value is None:
            raise errors.required("dualSidePosition")
        try:
            c.venue.engine.set_position_mode(c.account, value)
        except VenueReject as reject:
            if reject.reason is RejectReason.POSITION_MODE_CHANGE_WITH_OPEN:
                raise BingxError(
                    109401, "There are pending orders or positions, the position mode cannot be changed"
                ) from None
            raise errors.from_reject(reject) from None
        return {"dualSidePosition": "true" if value else "false"}

    def get_vst(self, c: Ctx) -> dict[str, Any]:
        """VST demo credit (the VST host's faucet): credits 20000 USDT as a DEPOSIT."""
        c.venue.engine.deposit(c.account, VST_CREDIT)
        return {"amount": int(VST_CREDIT)}

    # --- listen keys ----------------------------------------------------------------------------------
    def listen_key_new(self, c: Ctx) -> dict[str, Any]:
        return {"listenKey": c.venue.listen_keys.create_or_extend(c.account).key}

    def _listen_key_param(self, c: Ctx) -> str | None:
        return c.params.get("listenKey")

    def listen_key_extend(self, c: Ctx) -> web.StreamResponse:
        key = self._listen_key_param(c)
        if key is None:
            return web.Response(status=204)
        lk = c.venue.listen_keys.get_active(key)
        if lk is None:
            return json_response({"code": 404, "msg": "listenKey not found"}, 404)
        c.venue.listen_keys.keepalive(None, key)
        return json_response({}, 200)

    def listen_key_delete(self, c: Ctx) -> web.StreamResponse:
        key = self._listen_key_param(c)
        if key is None:
            return web.Response(status=204)
        if c.venue.listen_keys.get_active(key) is None:
            return json_response({"code": 404, "msg": "listenKey not found"}, 404)
        lk = c.venue.listen_keys.delete(None, key)
        c.venue.user.deleted(lk)
        return json_response({}, 200)


__all__ = ["LISTEN_KEY_PATH", "V1", "V2", "V3", "Ctx", "Order", "Params", "RateLimiter", "RestApi"]
