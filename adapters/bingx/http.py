"""Async HTTP client for BingX USDT-M perpetual swaps (aiohttp).

Signing (notes §1.2, DOCS3 SignAuth)
    All parameters go in the query string, also for POST/PUT/DELETE (as CCXT and the official demo do),
    in insertion order, followed by ``timestamp`` and ``recvWindow``. The signature is
    ``hex(HMAC_SHA256(secret, k1=v1&k2=v2...))`` over the **unencoded** values; the URL carries each *value*
    percent-encoded (keys never; plain values such as ``BTC-USDT``, decimals and the timestamp are
    URL-safe and so identical in both forms). That is the documented batchOrders recipe: "sign the
    original parameters, then URL-encode each value". ``signature`` is appended last; the API key goes in
    ``X-BX-APIKEY``. The URL is sent pre-encoded so nothing is re-quoted in transit.
Envelope
    Success is ``{"code": 0, "msg": "", "data": ...}``. A non-zero ``code`` is an error **even at HTTP
    200**; see :mod:`adapters.bingx.errors` for rejection vs ambiguous vs rate-limited.
Clock
    On a timestamp error (``100421`` / ``109400`` "timestamp ...") the client fetches
    ``/openApi/swap/v2/server/time``, sets its offset (server - local midpoint) and retries once.
Rate limits
    BingX limits per UID *per endpoint*; :class:`~adapters.bingx.rate_limit.BingxRateLimiter` counts them
    and reads ``X-RateLimit-Requests-Remain`` / ``-Expire``: the client waits for the window roll instead
    of collecting a ``100410``/429; ``Remain: 0`` blocks that endpoint until ``Expire``; ``Retry-After`` on
    429/418 blocks everything.
Several nodes on one IP (``fleet_budget``)
    Every request also takes its place from one budget in Redis shared by the nodes
    (:mod:`adapters.core.net.fleet_budget`): a bucket per endpoint and account (the hash of the API key;
    public endpoints: per IP), 1-second windows of the same limits; ``Remain: 0`` blocks that bucket
    and ``Retry-After`` every bucket, for every node.

Secrets (api secret, signature, full query) never appear in logs or exception messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Unpack

import msgspec

from adapters.bingx.credentials import BingxSigner
from adapters.bingx.errors import (
    AMBIGUOUS_CODES,
    CODE_RATE_LIMIT,
    BingxAmbiguous,
    BingxError,
    BingxRateLimited,
    BingxRejection,
    BingxTransportError,
)
from adapters.bingx.parsing import (
    OrderHistoryQuery,
    ParamValue,
    PlaceOrderArgs,
    json_param,
    normalize_client_order_id,
    order_history_params,
    order_ref_params,
    place_order_params,
)
from adapters.bingx.rate_limit import BingxRateLimiter
from adapters.bingx.schemas_market import DepthRest, FundingRateRest, KlineRest, PremiumIndexRest
from adapters.bingx.schemas_rest import (
    BalanceItem,
    CancelBatchResult,
    CommissionData,
    CommissionRate,
    Contract,
    FillHistoryData,
    FillOrderItem,
    FillOrdersData,
    LeverageInfo,
    LeverageSet,
    ListenKeyResponse,
    Order,
    OrderData,
    OrdersData,
    Position,
    PositionSideDual,
    ServerTime,
    decode_data,
    decode_envelope,
    decoder,
)
from adapters.core.net.fleet_budget import account_scope
from adapters.core.net.http_errors import VenueRejection, is_ambiguous_http_status
from adapters.core.net.rest_client import (
    UNREADABLE,
    LoggerLike,
    RestClientBase,
    RestClientOptions,
    VenueErrorTypes,
    format_param,
    param_strings,
    parse_error_body,
    read_code_and_message,
)

__all__ = [
    "MAX_BATCH_CANCEL",
    "MAX_BATCH_PLACE",
    "BingxHttpClient",
    "LoggerLike",
    "build_param_strings",
]

SWAP_V1: Final = "/openApi/swap/v1"
SWAP_V2: Final = "/openApi/swap/v2"
SWAP_V3: Final = "/openApi/swap/v3"
LISTEN_KEY_PATH: Final = "/openApi/user/auth/userDataStream"
SERVER_TIME_PATH: Final = f"{SWAP_V2}/server/time"
MAX_BATCH_PLACE: Final = 5
MAX_BATCH_CANCEL: Final = 10


def _fmt(value: ParamValue) -> str:
    if isinstance(value, float):  # pragma: no cover - guarded by the type; never format money via float
        raise TypeError("float parameters are not accepted; pass str or Decimal")
    return format_param(value)


def build_param_strings(params: Mapping[str, ParamValue] | None) -> tuple[str, str]:
    """``(to_sign, to_send)``: raw ``k=v&...`` and the same with each value percent-encoded (None dropped)."""
    return param_strings(params, _fmt)


class BingxHttpClient(RestClientBase):
    """Async REST client. Create inside a running event loop (the aiohttp session is created lazily)."""

    ERRORS: ClassVar = VenueErrorTypes(BingxError, BingxAmbiguous, BingxTransportError, BingxRateLimited)
    API_KEY_HEADER: ClassVar = "X-BX-APIKEY"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        signer: BingxSigner | None = None,
        rate_limiter: BingxRateLimiter | None = None,
        source_key: str | None = None,
        **options: Unpack[RestClientOptions],
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            signer if signer is not None else (BingxSigner(api_secret) if api_secret else None),
            **options,
        )
        self.rate_limiter = rate_limiter or BingxRateLimiter()
        self._source_key = source_key
        # The fleet budget's bucket owner for keyed requests: BingX counts them per account (UID).
        self._account_scope = account_scope(api_key)

    # ----------------------------------------------------------------------------------------------
    # Core request (session, clock, transport and retry loop: adapters.core.net.rest_client)
    # ----------------------------------------------------------------------------------------------

    def _param_strings(self, params: Mapping[str, Any] | None) -> tuple[str, str]:
        # BingX signs the raw values and sends them percent-encoded.
        return build_param_strings(params)

    def _block_all(self, secs: float, now_ms: int) -> None:
        self.rate_limiter.block_all(secs, now_ms)

    def _shared_block_secs(self, retry_after_secs: float) -> float:
        return min(retry_after_secs, self.rate_limiter.max_block_ms / 1000)

    def _fleet_bucket(self, method: str, path: str, keyed: bool) -> str:
        return f"{self._account_scope if keyed else 'ip'}:{method}:{path}"

    def _is_clock_error(self, exc: VenueRejection) -> bool:
        return isinstance(exc, BingxRejection) and exc.is_timestamp_error

    def _clock_error_label(self, exc: VenueRejection) -> str:
        return f"Timestamp error {exc.code}"

    async def request(
        self,
        method: str,
        path: str,
        tp: Any,
        params: Mapping[str, ParamValue] | None = None,
        *,
        signed: bool = True,
    ) -> Any:
        """Send a request, check the envelope and decode ``data`` into ``tp``."""

        async def attempt() -> Any:
            body = await self._send(method, path, params, signed)
            return self._unwrap(body, tp, method, path)

        return await self._with_retries(method, path, signed, attempt)

    async def _send(
        self, method: str, path: str, params: Mapping[str, ParamValue] | None, signed: bool
    ) -> bytes:
        """One HTTP exchange. Returns the 2xx body; raises for transport/HTTP-level failures."""
        delay = self.rate_limiter.delay_ms(method, path, self.now_ms())
        if delay > 0:
            self._log.debug(f"Rate limit near for {method} {path}: waiting {delay} ms")
            await self._sleep(delay / 1000)
        keyed = signed or path == LISTEN_KEY_PATH
        bucket = self._fleet_bucket(method, path, keyed)
        if self.fleet_budget is not None:
            block = (self.fleet_budget.block_key(bucket),)
            limit = self.rate_limiter.limit(method, path)
            await self._fleet_acquire(bucket, 1, limit, 1_000, method, path, block)
        url = self._url(path, self.build_query(params, signed))
        headers = self._key_headers(keyed, method, path)
        if self._source_key:
            headers["X-SOURCE-KEY"] = self._source_key
        self.rate_limiter.on_send(method, path, self.now_ms())
        status, body, resp_headers = await self._exchange(method, path, url, headers)

        now = self.now_ms()
        exhausted_until = self.rate_limiter.update_from_headers(method, path, resp_headers, now)
        if exhausted_until is not None and self.fleet_budget is not None:
            # The venue says this account's endpoint is spent until then: for every node sharing it.
            await self.fleet_budget.block(self.fleet_budget.block_key(bucket), exhausted_until, now)
        if 200 <= status < 300:
            return body
        code, msg = _parse_error(body)
        await self._fleet_share_rate_limit(status, resp_headers, now)
        self._raise_if_rate_limited(status, code, msg, resp_headers, now, method, path)
        if is_ambiguous_http_status(status) or (code is not None and code in AMBIGUOUS_CODES):
            raise BingxAmbiguous(
                f"HTTP {status} code={code} msg={msg!r}",
                code=code,
                http_status=status,
                method=method,
                path=path,
            )
        raise BingxRejection(
            code if code is not None else 0,
            msg or f"HTTP {status}",
            http_status=status,
            method=method,
            path=path,
        )

    def _unwrap(self, body: bytes, tp: Any, method: str, path: str) -> Any:
        """Envelope check (``code != 0`` is an error at HTTP 200) and ``data`` decode."""
        try:
            env = decode_envelope(body)
        except _UNDECODABLE as exc:
            raise BingxAmbiguous(
                f"undecodable 2xx response: {exc!r}"[:300], method=method, path=path
            ) from None
        code = env.code if env.code is not None else 0
        if code != 0:
            _raise_for_code(code, _text(env.msg), 200, method, path)
        try:
            return decode_data(env.data, tp)
        except _UNDECODABLE as exc:
            raise BingxAmbiguous(
                f"undecodable data: {exc!r}"[:300], code=0, method=method, path=path
            ) from None

    async def _fetch_server_time_ms(self) -> int:
        body = await self._send("GET", SERVER_TIME_PATH, None, False)
        st: ServerTime = self._unwrap(body, ServerTime, "GET", SERVER_TIME_PATH)
        return st.serverTime

    # ----------------------------------------------------------------------------------------------
    # Market / general
    # ----------------------------------------------------------------------------------------------

    async def server_time(self) -> int:
        st: ServerTime = await self.request("GET", SERVER_TIME_PATH, ServerTime, signed=False)
        return st.serverTime

    async def contracts(self, symbol: str | None = None) -> list[Contract]:
        result: list[Contract] | None = await self.request(
            "GET", f"{SWAP_V2}/quote/contracts", list[Contract] | None, {"symbol": symbol}, signed=False
        )
        return result or []

    # ----------------------------------------------------------------------------------------------
    # listenKey (bare JSON, HTTP status semantics; API key header, unsigned)
    # ----------------------------------------------------------------------------------------------

    async def create_listen_key(self) -> str:
        body = await self._send("POST", LISTEN_KEY_PATH, None, False)
        try:
            resp = decoder(ListenKeyResponse).decode(body)
            if resp.listenKey:
                return resp.listenKey
            if resp.code:
                _raise_for_code(resp.code, _text(resp.msg), 200, "POST", LISTEN_KEY_PATH)
            inner = decode_data(resp.data, ListenKeyResponse | None) if len(resp.data) else None
        except _UNDECODABLE as exc:
            raise BingxAmbiguous(
                f"undecodable listenKey response: {exc!r}"[:300], method="POST", path=LISTEN_KEY_PATH
            ) from None
        if inner is not None and inner.listenKey:
            return str(inner.listenKey)
        raise BingxAmbiguous("listenKey response without a key", method="POST", path=LISTEN_KEY_PATH)

    async def keepalive_listen_key(self, listen_key: str) -> None:
        """PUT: 200 ok; 404 -> :class:`BingxRejection` with ``is_listen_key_not_found`` (create a new key)."""
        await self._listen_key_call("PUT", listen_key)

    async def close_listen_key(self, listen_key: str) -> None:
        await self._listen_key_call("DELETE", listen_key)

    async def _listen_key_call(self, method: str, listen_key: str) -> None:
        body = await self._send(method, LISTEN_KEY_PATH, {"listenKey": listen_key}, False)
        # 2xx: the body is empty, bare JSON or an envelope; only a non-zero code is an error (read
        # leniently: a code next to a message of an unexpected type is still the venue's answer).
        if not body.strip():
            return
        read = read_code_and_message(body)
        if read is None:
            if body.lstrip()[:1] != b"{":
                return  # bare JSON that is no object (or no JSON): the status said success
            read = (UNREADABLE, "")  # an object we cannot read may carry an error code: not a success
        code, msg = read[0], read[1][:200]
        if code is None or (code in (0, "0") and not isinstance(code, bool)):
            return
        if isinstance(code, int) and not isinstance(code, bool) and -(2**31) <= code < 2**31:
            _raise_for_code(code, msg, 200, method, LISTEN_KEY_PATH)
        # A code nobody documented (or a body we cannot read) is no success: the key's state is
        # unknown, and the caller's error path (retry, else a new key) decides.
        raise BingxAmbiguous(
            f"unrecognized code {str(code)[:40]!r} msg={msg!r}",
            http_status=200,
            method=method,
            path=LISTEN_KEY_PATH,
        )

    # ----------------------------------------------------------------------------------------------
    # Orders
    # ----------------------------------------------------------------------------------------------

    async def place_order(
        self, symbol: str, side: str, order_type: str, **args: Unpack[PlaceOrderArgs]
    ) -> Order:
        params = place_order_params(symbol, side, order_type, **args)
        data: OrderData = await self.request("POST", f"{SWAP_V2}/trade/order", OrderData, params)
        return data.order

    async def place_batch_orders(self, orders: list[dict[str, Any]]) -> list[Order]:
        """Up to 5 orders (``batchOrders`` JSON, value URL-encoded, signed raw). Client ids are lowercased."""
        if not 1 <= len(orders) <= MAX_BATCH_PLACE:
            raise ValueError(f"batch place takes 1-{MAX_BATCH_PLACE} orders, got {len(orders)}")
        items = []
        for o in orders:
            item = {
                k: (format(v, "f") if isinstance(v, Decimal) else v) for k, v in o.items() if v is not None
            }
            cid = item.get("clientOrderId")
            if isinstance(cid, str):
                item["clientOrderId"] = normalize_client_order_id(cid)
            items.append(item)
        data: OrdersData = await self.request(
            "POST", f"{SWAP_V2}/trade/batchOrders", OrdersData, {"batchOrders": json_param(items)}
        )
        return data.orders or []

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        data: OrderData = await self.request(
            "DELETE", f"{SWAP_V2}/trade/order", OrderData, order_ref_params(symbol, order_id, client_order_id)
        )
        return data.order

    async def cancel_batch_orders(
        self, symbol: str, *, order_ids: list[int] | None = None, client_order_ids: list[str] | None = None
    ) -> CancelBatchResult:
        """Up to 10 ids; per-item failures come back in ``failed``."""
        if bool(order_ids) == bool(client_order_ids):
            raise ValueError("pass exactly one of order_ids / client_order_ids")
        ids: list[Any] = list(order_ids) if order_ids else [c.lower() for c in client_order_ids or []]
        if len(ids) > MAX_BATCH_CANCEL:
            raise ValueError(f"batch cancel takes at most {MAX_BATCH_CANCEL} ids")
        params: dict[str, ParamValue] = {"symbol": symbol}
        params["orderIdList" if order_ids else "clientOrderIdList"] = json_param(ids)
        result: CancelBatchResult = await self.request(
            "DELETE", f"{SWAP_V2}/trade/batchOrders", CancelBatchResult, params
        )
        return result

    async def cancel_all_open_orders(
        self, symbol: str | None = None, order_type: str | None = None
    ) -> CancelBatchResult:
        result: CancelBatchResult | None = await self.request(
            "DELETE",
            f"{SWAP_V2}/trade/allOpenOrders",
            CancelBatchResult | None,
            {"symbol": symbol, "type": order_type},
        )
        return result or CancelBatchResult()

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        data: OrderData = await self.request(
            "GET", f"{SWAP_V2}/trade/order", OrderData, order_ref_params(symbol, order_id, client_order_id)
        )
        return data.order

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        data: OrdersData | None = await self.request(
            "GET", f"{SWAP_V2}/trade/openOrders", OrdersData | None, {"symbol": symbol}
        )
        return (data.orders if data else None) or []

    async def all_orders(self, symbol: str | None = None, **query: Unpack[OrderHistoryQuery]) -> list[Order]:
        """Order history (completed/cancelled only); ``order_id`` returns subsequent orders."""
        return await self._orders(f"{SWAP_V2}/trade/allOrders", symbol, query)

    async def full_orders(self, symbol: str | None = None, **query: Unpack[OrderHistoryQuery]) -> list[Order]:
        """All orders including open ones (``/openApi/swap/v1/trade/fullOrder``)."""
        return await self._orders(f"{SWAP_V1}/trade/fullOrder", symbol, query)

    async def _orders(self, path: str, symbol: str | None, query: OrderHistoryQuery) -> list[Order]:
        params = order_history_params(symbol, **query)
        data: OrdersData | None = await self.request("GET", path, OrdersData | None, params)
        return (data.orders if data else None) or []

    async def fill_history(
        self,
        symbol: str,
        *,
        end_ts: int,
        start_ts: int | None = None,
        order_id: int | None = None,
        last_fill_id: int | None = None,
        page_index: int | None = None,
        page_size: int | None = None,
    ) -> FillHistoryData:
        """Trade-level fills with trade ids (last 7 days, ``start_ts < t <= end_ts``; ``end_ts`` is required
        because a start-only query returns nothing)."""
        params: dict[str, ParamValue] = {
            "symbol": symbol,
            "orderId": order_id,
            "lastFillId": last_fill_id,
            "pageIndex": page_index,
            "pageSize": page_size,
            "startTs": start_ts,
            "endTs": end_ts,
        }
        data: FillHistoryData | None = await self.request(
            "GET", f"{SWAP_V2}/trade/fillHistory", FillHistoryData | None, params
        )
        return data or FillHistoryData()

    async def all_fill_orders(
        self,
        *,
        start_ts: int,
        end_ts: int,
        symbol: str | None = None,
        order_id: int | None = None,
        trading_unit: str = "COIN",
    ) -> list[FillOrderItem]:
        """Fills without trade ids (``/openApi/swap/v2/trade/allFillOrders``); prefer :meth:`fill_history`."""
        params: dict[str, ParamValue] = {
            "symbol": symbol,
            "orderId": order_id,
            "tradingUnit": trading_unit,
            "startTs": start_ts,
            "endTs": end_ts,
        }
        data: FillOrdersData | None = await self.request(
            "GET", f"{SWAP_V2}/trade/allFillOrders", FillOrdersData | None, params
        )
        return (data.fill_orders if data else None) or []

    # ----------------------------------------------------------------------------------------------
    # Account
    # ----------------------------------------------------------------------------------------------

    async def balance(self) -> list[BalanceItem]:
        result: list[BalanceItem] | None = await self.request(
            "GET", f"{SWAP_V3}/user/balance", list[BalanceItem] | None
        )
        return result or []

    async def positions(self, symbol: str | None = None) -> list[Position]:
        result: list[Position] | None = await self.request(
            "GET", f"{SWAP_V2}/user/positions", list[Position] | None, {"symbol": symbol}
        )
        return result or []

    async def get_leverage(self, symbol: str) -> LeverageInfo:
        result: LeverageInfo = await self.request(
            "GET", f"{SWAP_V2}/trade/leverage", LeverageInfo, {"symbol": symbol}
        )
        return result

    async def set_leverage(self, symbol: str, side: str, leverage: int) -> LeverageSet:
        """``side``: LONG/SHORT in hedge mode, BOTH in one-way mode."""
        result: LeverageSet = await self.request(
            "POST",
            f"{SWAP_V2}/trade/leverage",
            LeverageSet,
            {"symbol": symbol, "side": side, "leverage": leverage},
        )
        return result

    async def position_side_dual(self) -> bool:
        """True = hedge (dual) mode."""
        resp: PositionSideDual = await self.request("GET", f"{SWAP_V1}/positionSide/dual", PositionSideDual)
        return resp.dualSidePosition is True

    async def set_position_side_dual(self, dual: bool) -> bool:
        resp: PositionSideDual = await self.request(
            "POST", f"{SWAP_V1}/positionSide/dual", PositionSideDual, {"dualSidePosition": dual}
        )
        return resp.dualSidePosition is True

    async def commission_rate(self) -> CommissionRate:
        data: CommissionData = await self.request("GET", f"{SWAP_V2}/user/commissionRate", CommissionData)
        return data.commission

    # ----------------------------------------------------------------------------------------------
    # Public market data (used by the data client; payload Structs in adapters.bingx.parsing_market)
    # ----------------------------------------------------------------------------------------------
    async def depth(self, symbol: str, limit: int = 100) -> Any:
        """``GET /openApi/swap/v2/quote/depth`` (limit 5/10/20/50/100/500/1000) -> ``DepthRest``."""
        return await self.request(
            "GET", f"{SWAP_V2}/quote/depth", DepthRest, {"symbol": symbol, "limit": limit}, signed=False
        )

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Any]:
        """``GET /openApi/swap/v3/quote/klines`` -> ``list[KlineRest]`` (``time`` = bar open time)."""
        params: dict[str, ParamValue] = {
            "symbol": symbol,
            "interval": interval,
            "startTime": start_ms,
            "endTime": end_ms,
            "limit": limit,
        }
        rows: list[Any] | None = await self.request(
            "GET", f"{SWAP_V3}/quote/klines", list[KlineRest] | None, params, signed=False
        )
        return rows or []

    async def premium_index(self, symbol: str) -> Any:
        """``GET /openApi/swap/v2/quote/premiumIndex`` for one symbol -> ``PremiumIndexRest``."""
        result: Any = await self.request(
            "GET",
            f"{SWAP_V2}/quote/premiumIndex",
            PremiumIndexRest | list[PremiumIndexRest],
            {"symbol": symbol},
            signed=False,
        )
        return result[0] if isinstance(result, list) else result

    async def funding_rate_history(
        self, symbol: str, *, start_ms: int | None = None, end_ms: int | None = None, limit: int = 100
    ) -> list[Any]:
        """``GET /openApi/swap/v2/quote/fundingRate`` -> ``list[FundingRateRest]``."""
        params: dict[str, ParamValue] = {
            "symbol": symbol,
            "startTime": start_ms,
            "endTime": end_ms,
            "limit": limit,
        }
        rows: list[Any] | None = await self.request(
            "GET", f"{SWAP_V2}/quote/fundingRate", list[FundingRateRest] | None, params, signed=False
        )
        return rows or []


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


class _ErrorBody(msgspec.Struct, gc=False):
    code: int | None = None
    msg: Any = None  # any type: the code must be read whatever the message looks like


_ERROR_DECODER = msgspec.json.Decoder(_ErrorBody, strict=False)


_UNDECODABLE = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)


def _text(msg: object) -> str:
    return msg if isinstance(msg, str) else ("" if msg is None else str(msg)[:200])


def _parse_error(body: bytes) -> tuple[int | None, str]:
    return parse_error_body(body, _ERROR_DECODER)


def _raise_for_code(code: int, msg: str, status: int, method: str, path: str) -> None:
    if code in AMBIGUOUS_CODES:
        raise BingxAmbiguous(
            f"code={code} msg={msg!r}", code=code, http_status=status, method=method, path=path
        )
    if code == CODE_RATE_LIMIT:
        raise BingxRateLimited(code, msg, http_status=status, retry_after_secs=None, method=method, path=path)
    raise BingxRejection(code, msg, http_status=status, method=method, path=path)
