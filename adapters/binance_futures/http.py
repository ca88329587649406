"""Async HTTP client for Binance USD-M Futures (aiohttp).

* Signing: all parameters go in the query string (also for POST/PUT/DELETE, as Binance accepts), followed by
  ``timestamp`` and ``recvWindow``; ``signature`` is appended last; ``X-MBX-APIKEY`` header. The URL is sent
  pre-encoded so the bytes signed are the bytes sent.
* Clock offset: on ``-1021`` the client fetches ``/fapi/v1/time``, adjusts its offset and retries once.
* Rate limits: ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-*`` feed :class:`RateLimitTracker`; a request
  that would exceed ``safety * limit`` awaits the window roll first. ``Retry-After`` on 429/418 blocks all
  requests until it passes; a 429 with a short Retry-After is retried once (the request was not executed).
* Several nodes on one IP (``fleet_budget``): every request also takes its weight from one budget in
  Redis shared by the nodes (:mod:`adapters.core.net.fleet_budget`, bucket ``weight``, the window and limit
  of the tracker); the venue's ``X-MBX-USED-WEIGHT-1M`` raises the fleet's count when higher and a
  ``Retry-After`` blocks every node.
* Errors: see :mod:`adapters.binance_futures.errors` (rejection vs ambiguous vs transport).
* Responses are decoded straight from bytes into msgspec Structs.

Secrets (api secret, signature, full query) never appear in logs or exception messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Unpack
from urllib.parse import quote

import msgspec

from adapters.binance_futures.credentials import BinanceSigner
from adapters.binance_futures.errors import (
    AMBIGUOUS_CODES,
    CODE_INVALID_TIMESTAMP,
    CODE_TOO_MANY_REQUESTS,
    CODE_UNEXPECTED_RESP,
    BinanceAmbiguous,
    BinanceError,
    BinanceRateLimited,
    BinanceRejection,
    BinanceTransportError,
)
from adapters.binance_futures.parsing import (
    ModifyOrderArgs,
    NewAlgoOrderArgs,
    NewOrderArgs,
    algo_ref_params,
    modify_order_params,
    new_algo_order_params,
    new_order_params,
    order_ref_params,
)
from adapters.binance_futures.rate_limit import RateLimitTracker
from adapters.binance_futures.schemas_market import (
    AggTradeRest,
    DepthSnapshot,
    FundingRateRest,
    KlineRow,
    PremiumIndex,
)
from adapters.binance_futures.schemas_rest import (
    AccountInfo,
    AlgoCancelResponse,
    AlgoOrder,
    Balance,
    BinanceErrorBody,
    CodeMsgResponse,
    CommissionRate,
    EmptyResponse,
    ExchangeInfo,
    LeverageResponse,
    ListenKeyResponse,
    Order,
    PositionRisk,
    PositionSideDual,
    ServerTime,
    UserTrade,
    http_decoder,
)
from adapters.core.net.http_errors import VenueRejection, is_ambiguous_http_status
from adapters.core.net.rest_client import (
    LoggerLike,
    ParamValue,
    RestClientBase,
    RestClientOptions,
    Signer,
    VenueErrorTypes,
    param_strings,
    parse_error_body,
)

__all__ = [
    "API_V1",
    "BatchOrderError",
    "BinanceFuturesHttpClient",
    "LoggerLike",
    "ParamValue",
    "encode_params",
]

API_V1: Final = "/fapi/v1"
FLEET_WEIGHT_BUCKET: Final = "weight"  # Binance counts one weight budget per IP
_ERROR_DECODER = msgspec.json.Decoder(BinanceErrorBody, strict=False)
_BATCH_ITEM_DECODER = msgspec.json.Decoder(list[msgspec.Raw])


def encode_params(params: Mapping[str, ParamValue] | None) -> str:
    """URL-encode params in insertion order, dropping None values."""
    return param_strings(params)[1]


class BatchOrderError(msgspec.Struct, gc=False):
    code: int
    msg: str = ""


class BinanceFuturesHttpClient(RestClientBase):
    """Async REST client. Create inside a running event loop (the aiohttp session is created lazily)."""

    ERRORS: ClassVar = VenueErrorTypes(
        BinanceError, BinanceAmbiguous, BinanceTransportError, BinanceRateLimited
    )
    API_KEY_HEADER: ClassVar = "X-MBX-APIKEY"
    RATE_LIMIT_RETRY_LABEL: ClassVar = "HTTP 429"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        signer: BinanceSigner | None = None,
        rate_limiter: RateLimitTracker | None = None,
        **options: Unpack[RestClientOptions],
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            signer if signer is not None else (BinanceSigner(api_secret) if api_secret else None),
            **options,
        )
        self.rate_limiter = rate_limiter or RateLimitTracker()

    # ----------------------------------------------------------------------------------------------
    # Core request (session, clock, transport and retry loop: adapters.core.net.rest_client)
    # ----------------------------------------------------------------------------------------------

    def _param_strings(self, params: Mapping[str, Any] | None) -> tuple[str, str]:
        # Binance signs the percent-encoded query, i.e. exactly the bytes sent.
        encoded = encode_params(params)
        return encoded, encoded

    def _signature(self, signer: Signer, payload: str) -> str:
        signature = signer.sign(payload)
        if isinstance(signer, BinanceSigner) and signer.is_ed25519:
            signature = quote(signature, safe="")  # base64 may contain '+', '/', '='
        return signature

    def _block_all(self, secs: float, now_ms: int) -> None:
        self.rate_limiter.block_for(secs, now_ms)

    def _rate_limited_fallback_code(self, status: int) -> int:
        return CODE_TOO_MANY_REQUESTS

    def _is_clock_error(self, exc: VenueRejection) -> bool:
        return exc.code == CODE_INVALID_TIMESTAMP

    def _clock_error_label(self, exc: VenueRejection) -> str:
        return str(exc.code)

    async def request(
        self,
        method: str,
        path: str,
        tp: Any,
        params: Mapping[str, ParamValue] | None = None,
        *,
        signed: bool = False,
        api_key: bool = False,
        weight: int = 1,
        is_order: bool = False,
    ) -> Any:
        """Send a request and decode the 2xx body into ``tp``. See module doc for error semantics."""
        return await self._with_retries(
            method,
            path,
            signed,
            lambda: self._request_once(method, path, tp, params, signed, api_key, weight, is_order),
        )

    async def _request_once(
        self,
        method: str,
        path: str,
        tp: Any,
        params: Mapping[str, ParamValue] | None,
        signed: bool,
        api_key: bool,
        weight: int,
        is_order: bool,
    ) -> Any:
        delay = self.rate_limiter.delay_for(self.now_ms(), weight, is_order)
        if delay > 0:
            self._log.warning(f"Rate limit near for {method} {path}: waiting {delay:.3f}s for window roll")
            await self._sleep(delay)
        window = self.rate_limiter.weight
        grant = await self._fleet_acquire(
            FLEET_WEIGHT_BUCKET, weight, window.limit, window.interval_ms, method, path
        )
        url = self._url(path, self.build_query(params, signed))
        headers = self._key_headers(signed or api_key, method, path)
        status, body, resp_headers = await self._exchange(method, path, url, headers)

        now = self.now_ms()
        self.rate_limiter.update_from_headers(resp_headers, now)
        if grant is not None and self.fleet_budget is not None:
            reported = self.rate_limiter.reported_weight(resp_headers)
            if reported is not None:
                await self.fleet_budget.observe(grant, reported, now)
        await self._fleet_share_rate_limit(status, resp_headers, now)

        if 200 <= status < 300:
            code, msg = _error_in_success(body)
            if code is None:
                try:
                    return http_decoder(tp).decode(body)
                except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
                    raise BinanceAmbiguous(
                        f"undecodable {status} response: {exc!r}"[:300],
                        http_status=status,
                        method=method,
                        path=path,
                    ) from None
            # An error answered with HTTP 200 (seen for cancels and keepalives): an error like any
            # other, never a success.
        else:
            code, msg = self._parse_error(body)
        self._raise_if_rate_limited(status, code, msg, resp_headers, now, method, path)
        if code in AMBIGUOUS_CODES:
            raise BinanceAmbiguous(
                f"code={code} msg={msg!r}", code=code, http_status=status, method=method, path=path
            )
        if is_ambiguous_http_status(status):
            raise BinanceAmbiguous(
                f"HTTP {status} code={code} msg={msg!r}",
                code=code,
                http_status=status,
                method=method,
                path=path,
            )
        if code is None:
            return_msg = msg or f"HTTP {status}"
            raise BinanceRejection(0, return_msg, http_status=status, method=method, path=path)
        raise BinanceRejection(code, msg, http_status=status, method=method, path=path)

    @staticmethod
    def _parse_error(body: bytes) -> tuple[int | None, str]:
        return parse_error_body(body, _ERROR_DECODER)

    async def _fetch_server_time_ms(self) -> int:
        st: ServerTime = await self._request_once(
            "GET", f"{API_V1}/time", ServerTime, None, False, False, 1, False
        )
        return st.serverTime

    # ----------------------------------------------------------------------------------------------
    # Market / general
    # ----------------------------------------------------------------------------------------------

    async def server_time(self) -> ServerTime:
        return await self.request("GET", f"{API_V1}/time", ServerTime)

    async def exchange_info(self) -> ExchangeInfo:
        return await self.request("GET", f"{API_V1}/exchangeInfo", ExchangeInfo)

    # ----------------------------------------------------------------------------------------------
    # Listen key (USER_STREAM: API key header only)
    # ----------------------------------------------------------------------------------------------

    async def create_listen_key(self) -> str:
        resp: ListenKeyResponse = await self.request(
            "POST", f"{API_V1}/listenKey", ListenKeyResponse, api_key=True
        )
        return resp.listenKey

    async def keepalive_listen_key(self, listen_key: str | None = None) -> None:
        await self.request(
            "PUT", f"{API_V1}/listenKey", EmptyResponse, {"listenKey": listen_key}, api_key=True
        )

    async def close_listen_key(self, listen_key: str | None = None) -> None:
        await self.request(
            "DELETE", f"{API_V1}/listenKey", EmptyResponse, {"listenKey": listen_key}, api_key=True
        )

    # ----------------------------------------------------------------------------------------------
    # Orders
    # ----------------------------------------------------------------------------------------------

    async def new_order(
        self, symbol: str, side: str, order_type: str, **kwargs: Unpack[NewOrderArgs]
    ) -> Order:
        params = new_order_params(symbol, side, order_type, **kwargs)
        return await self.request("POST", f"{API_V1}/order", Order, params, signed=True, is_order=True)

    async def modify_order(
        self,
        symbol: str,
        side: str,
        quantity: str | Decimal,
        price: str | Decimal,
        **kwargs: Unpack[ModifyOrderArgs],
    ) -> Order:
        params = modify_order_params(symbol, side, quantity, price, **kwargs)
        return await self.request("PUT", f"{API_V1}/order", Order, params, signed=True, is_order=True)

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        params = order_ref_params(symbol, order_id, orig_client_order_id)
        return await self.request("DELETE", f"{API_V1}/order", Order, params, signed=True)

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        params = order_ref_params(symbol, order_id, orig_client_order_id)
        return await self.request("GET", f"{API_V1}/order", Order, params, signed=True)

    async def batch_orders(
        self,
        method: str,
        orders: list[dict[str, Any]] | None = None,
        *,
        symbol: str | None = None,
        order_ids: list[int] | None = None,
        orig_client_order_ids: list[str] | None = None,
    ) -> list[Order | BatchOrderError]:
        """POST (place, ≤5), PUT (modify, ≤5) or DELETE (cancel, ≤10) batch. Items fail individually."""
        params: dict[str, ParamValue] = {}
        if method in ("POST", "PUT"):
            if not orders:
                raise ValueError("orders required")
            params["batchOrders"] = msgspec.json.encode(orders).decode()
        else:
            params["symbol"] = symbol
            if order_ids:
                params["orderIdList"] = msgspec.json.encode(order_ids).decode()
            if orig_client_order_ids:
                params["origClientOrderIdList"] = msgspec.json.encode(orig_client_order_ids).decode()
        raws: list[msgspec.Raw] = await self.request(
            method,
            f"{API_V1}/batchOrders",
            list[msgspec.Raw],
            params,
            signed=True,
            weight=5,
            is_order=method != "DELETE",
        )
        out: list[Order | BatchOrderError] = []
        order_dec = http_decoder(Order)
        err_dec = http_decoder(BatchOrderError)
        for raw in raws:
            try:
                out.append(order_dec.decode(raw))
            except msgspec.ValidationError:
                try:
                    out.append(err_dec.decode(raw))
                except msgspec.ValidationError as exc:
                    raise BinanceAmbiguous(
                        f"undecodable batch item: {exc}", method=method, path=f"{API_V1}/batchOrders"
                    ) from None
        return out

    async def cancel_all_open_orders(self, symbol: str) -> CodeMsgResponse:
        return await self.request(
            "DELETE", f"{API_V1}/allOpenOrders", CodeMsgResponse, {"symbol": symbol}, signed=True
        )

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return await self.request(
            "GET",
            f"{API_V1}/openOrders",
            list[Order],
            {"symbol": symbol},
            signed=True,
            weight=1 if symbol else 40,
        )

    async def all_orders(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        params = {
            "symbol": symbol,
            "orderId": order_id,
            "startTime": start_time,
            "endTime": end_time,
            "limit": limit,
        }
        return await self.request("GET", f"{API_V1}/allOrders", list[Order], params, signed=True, weight=5)

    async def user_trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        from_id: int | None = None,
        limit: int | None = None,
    ) -> list[UserTrade]:
        params = {
            "symbol": symbol,
            "orderId": order_id,
            "startTime": start_time,
            "endTime": end_time,
            "fromId": from_id,
            "limit": limit,
        }
        return await self.request(
            "GET", f"{API_V1}/userTrades", list[UserTrade], params, signed=True, weight=5
        )

    # ----------------------------------------------------------------------------------------------
    # Algo orders (conditional)
    # ----------------------------------------------------------------------------------------------

    async def new_algo_order(
        self, symbol: str, side: str, order_type: str, **kwargs: Unpack[NewAlgoOrderArgs]
    ) -> AlgoOrder:
        params = new_algo_order_params(symbol, side, order_type, **kwargs)
        return await self.request(
            "POST", f"{API_V1}/algoOrder", AlgoOrder, params, signed=True, weight=0, is_order=True
        )

    async def cancel_algo_order(
        self, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoCancelResponse:
        params = algo_ref_params(algo_id, client_algo_id)
        return await self.request("DELETE", f"{API_V1}/algoOrder", AlgoCancelResponse, params, signed=True)

    async def query_algo_order(
        self, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        params = algo_ref_params(algo_id, client_algo_id)
        return await self.request("GET", f"{API_V1}/algoOrder", AlgoOrder, params, signed=True)

    async def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        return await self.request(
            "GET",
            f"{API_V1}/openAlgoOrders",
            list[AlgoOrder],
            {"symbol": symbol},
            signed=True,
            weight=1 if symbol else 40,
        )

    async def all_algo_orders(
        self,
        symbol: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        page: int | None = None,
        limit: int | None = None,
    ) -> list[AlgoOrder]:
        params = {
            "symbol": symbol,
            "startTime": start_time,
            "endTime": end_time,
            "page": page,
            "limit": limit,
        }
        return await self.request(
            "GET", f"{API_V1}/allAlgoOrders", list[AlgoOrder], params, signed=True, weight=5
        )

    async def cancel_all_algo_orders(self, symbol: str) -> CodeMsgResponse:
        return await self.request(
            "DELETE", f"{API_V1}/algoOpenOrders", CodeMsgResponse, {"symbol": symbol}, signed=True
        )

    # ----------------------------------------------------------------------------------------------
    # Account
    # ----------------------------------------------------------------------------------------------

    async def account(self, version: int = 2) -> AccountInfo:
        return await self.request("GET", f"/fapi/v{version}/account", AccountInfo, signed=True, weight=5)

    async def balance(self, version: int = 2) -> list[Balance]:
        return await self.request("GET", f"/fapi/v{version}/balance", list[Balance], signed=True, weight=5)

    async def position_risk(self, symbol: str | None = None, version: int = 2) -> list[PositionRisk]:
        return await self.request(
            "GET",
            f"/fapi/v{version}/positionRisk",
            list[PositionRisk],
            {"symbol": symbol},
            signed=True,
            weight=5,
        )

    async def position_side_dual(self) -> bool:
        resp: PositionSideDual = await self.request(
            "GET", f"{API_V1}/positionSide/dual", PositionSideDual, signed=True, weight=30
        )
        return resp.dualSidePosition

    async def change_leverage(self, symbol: str, leverage: int) -> LeverageResponse:
        return await self.request(
            "POST",
            f"{API_V1}/leverage",
            LeverageResponse,
            {"symbol": symbol, "leverage": leverage},
            signed=True,
        )

    async def commission_rate(self, symbol: str) -> CommissionRate:
        return await self.request(
            "GET", f"{API_V1}/commissionRate", CommissionRate, {"symbol": symbol}, signed=True, weight=20
        )

    # ----------------------------------------------------------------------------------------------
    # Public market data (no key needed)
    # ----------------------------------------------------------------------------------------------

    async def depth(self, symbol: str, limit: int = 1000) -> DepthSnapshot:
        """``GET /fapi/v1/depth``: the REST order book snapshot (``lastUpdateId``)."""
        weight = 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
        return await self.request(
            "GET", f"{API_V1}/depth", DepthSnapshot, {"symbol": symbol, "limit": limit}, weight=weight
        )

    async def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1500,
    ) -> list[KlineRow]:
        """``GET /fapi/v1/klines``, ascending; without ``startTime``: the newest ``limit`` to ``endTime``."""
        weight = 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
        params = {"symbol": symbol, "interval": interval, "startTime": start_ms, "endTime": end_ms}
        return await self.request(
            "GET", f"{API_V1}/klines", list[KlineRow], params | {"limit": limit}, weight=weight
        )

    async def agg_trades(
        self,
        symbol: str,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[AggTradeRest]:
        """``GET /fapi/v1/aggTrades`` (ascending)."""
        params = {"symbol": symbol, "fromId": from_id, "startTime": start_ms, "endTime": end_ms}
        return await self.request(
            "GET", f"{API_V1}/aggTrades", list[AggTradeRest], params | {"limit": limit}, weight=20
        )

    async def premium_index(self, symbol: str) -> PremiumIndex:
        """``GET /fapi/v1/premiumIndex?symbol=``: mark, index, last funding rate, next funding time."""
        return await self.request("GET", f"{API_V1}/premiumIndex", PremiumIndex, {"symbol": symbol})

    async def funding_rates(
        self, symbol: str, start_ms: int | None = None, end_ms: int | None = None, limit: int = 1000
    ) -> list[FundingRateRest]:
        """``GET /fapi/v1/fundingRate``: settled funding history (ascending)."""
        params = {"symbol": symbol, "startTime": start_ms, "endTime": end_ms, "limit": limit}
        return await self.request("GET", f"{API_V1}/fundingRate", list[FundingRateRest], params)


def _error_in_success(body: bytes) -> tuple[int | None, str]:
    """A 2xx body that is Binance's error envelope (``{"code": <negative>, "msg": ...}``): its code and
    message, else ``(None, "")``. Success envelopes carry ``code`` 0 or 200 (``"200"`` for algo
    cancels). Any other top-level code (positive, out of range, a non-numeric string) is an envelope
    nobody documented: reported as -1006 ("execution status unknown"), so a command's outcome is resolved
    by querying the venue, never believed. Only small object bodies are looked at."""
    if body[:1] != b"{" or b'"code"' not in body[:256]:
        return None, ""
    try:
        envelope = _ENVELOPE_DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None, ""  # not an object with a top-level code: the typed decode decides
    if not envelope.code:
        return None, ""
    # The fields stay raw until here: a value msgspec cannot represent (``-1e400``) must not make
    # the whole envelope unreadable, or an error answer would pass as success.
    code = _raw_value(envelope.code)
    text = _raw_value(envelope.msg) if envelope.msg else ""
    msg = (text if isinstance(text, str) else bytes(envelope.msg).decode("utf-8", "replace"))[:500]
    if code is None:
        return None, ""
    if isinstance(code, int | str) and not isinstance(code, bool) and code in _SUCCESS_CODES:
        return None, ""
    if isinstance(code, int) and not isinstance(code, bool) and -(2**31) <= code < 0:
        return code, msg
    shown = code if code is not _UNREADABLE else bytes(envelope.code)
    return CODE_UNEXPECTED_RESP, f"unrecognized code {str(shown)[:40]!r}: {msg}"


_UNREADABLE: Final[object] = object()


def _raw_value(raw: Any) -> Any:
    """A raw JSON value decoded, or ``_UNREADABLE`` (out-of-range numbers, deep nesting)."""
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return _UNREADABLE


class _Envelope(msgspec.Struct, gc=False):
    # Raw: decoded one by one (see _error_in_success); empty when the field is absent.
    code: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b""))
    msg: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b""))


_SUCCESS_CODES: Final = frozenset({0, 200, "0", "200"})
_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)
