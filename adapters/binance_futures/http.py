"""Async HTTP client for Binance USD-M Futures (aiohttp).

* Signing: all parameters go in the query string (also for POST/PUT/DELETE, as Binance accepts), followed by
  ``timestamp`` and ``recvWindow``; ``signature`` is appended last; ``X-MBX-APIKEY`` header. The URL is sent
  pre-encoded so the bytes signed are the bytes sent.
* Clock offset: on ``-1021`` the client fetches ``/fapi/v1/time``, adjusts its offset and retries once.
* Rate limits: ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-*`` feed :class:`RateLimitTracker`; a request
  that would exceed ``safety * limit`` awaits the window roll first. ``Retry-After`` on 429/418 blocks all
  requests until it passes; a 429 with a short Retry-After is retried once (the request was not executed).
* Errors: see :mod:`adapters.binance_futures.errors` (rejection vs ambiguous vs transport).
* Responses are decoded straight from bytes into msgspec Structs.

Secrets (api secret, signature, full query) never appear in logs or exception messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
from yarl import URL

from adapters.binance_futures.credentials import BinanceSigner
from adapters.binance_futures.errors import (
    AMBIGUOUS_CODES,
    CODE_INVALID_TIMESTAMP,
    BinanceAmbiguous,
    BinanceError,
    BinanceRateLimited,
    BinanceRejection,
    BinanceTransportError,
)
from adapters.binance_futures.rate_limit import RateLimitTracker, parse_retry_after
from adapters.binance_futures.schemas import http_decoder
from adapters.binance_futures.schemas_http import (
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
)
from adapters.binance_futures.schemas_market import (
    AggTradeRest,
    DepthSnapshot,
    FundingRateRest,
    KlineRow,
    PremiumIndex,
)

T = TypeVar("T")
ParamValue = str | int | float | bool | Decimal | None

API_V1: Final = "/fapi/v1"
_ERROR_DECODER = msgspec.json.Decoder(BinanceErrorBody, strict=False)
_BATCH_ITEM_DECODER = msgspec.json.Decoder(list[msgspec.Raw])


class LoggerLike(Protocol):
    def debug(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...


class _NullLogger:
    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


def _fmt(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def encode_params(params: Mapping[str, ParamValue] | None) -> str:
    """URL-encode params in insertion order, dropping None values."""
    if not params:
        return ""
    return "&".join(f"{k}={quote(_fmt(v), safe='')}" for k, v in params.items() if v is not None)


class BatchOrderError(msgspec.Struct, gc=False):
    code: int
    msg: str = ""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class BinanceFuturesHttpClient:
    """Async REST client. Create inside a running event loop (the aiohttp session is created lazily)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        signer: BinanceSigner | None = None,
        timeout_secs: float = 10.0,
        recv_window_ms: int = 5_000,
        rate_limiter: RateLimitTracker | None = None,
        session: aiohttp.ClientSession | None = None,
        logger: LoggerLike | None = None,
        wall_ms: Callable[[], int] = _wall_ms,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_retry_after_secs: float = 5.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._signer = signer if signer is not None else (BinanceSigner(api_secret) if api_secret else None)
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self._recv_window_ms = recv_window_ms
        self.rate_limiter = rate_limiter or RateLimitTracker()
        self._session = session
        self._owns_session = session is None
        self._log: LoggerLike = logger or _NullLogger()
        self._wall_ms = wall_ms
        self._sleep = sleep
        self._max_retry_after_secs = max_retry_after_secs
        self.time_offset_ms: int = 0

    def __repr__(self) -> str:
        return f"BinanceFuturesHttpClient(base_url={self._base_url!r}, signer={self._signer!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    def now_ms(self) -> int:
        """Venue-corrected time in ms."""
        return self._wall_ms() + self.time_offset_ms

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    # ----------------------------------------------------------------------------------------------
    # Core request
    # ----------------------------------------------------------------------------------------------

    def build_query(self, params: Mapping[str, ParamValue] | None, signed: bool) -> str:
        query = encode_params(params)
        if not signed:
            return query
        if self._signer is None:
            raise BinanceError("signed endpoint requires api_secret")
        ts = f"timestamp={self.now_ms()}&recvWindow={self._recv_window_ms}"
        query = f"{query}&{ts}" if query else ts
        signature = self._signer.sign(query)
        if self._signer.is_ed25519:
            signature = quote(signature, safe="")
        return f"{query}&signature={signature}"

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
        retried_timestamp = False
        retried_429 = False
        while True:
            try:
                return await self._request_once(method, path, tp, params, signed, api_key, weight, is_order)
            except BinanceRateLimited as exc:
                if (
                    retried_429
                    or exc.is_ip_ban
                    or exc.retry_after_secs is None
                    or exc.retry_after_secs > self._max_retry_after_secs
                ):
                    raise
                retried_429 = True
                self._log.warning(f"HTTP 429 on {method} {path}; retrying after {exc.retry_after_secs}s")
            except BinanceRejection as exc:
                if exc.code != CODE_INVALID_TIMESTAMP or retried_timestamp or not signed:
                    raise
                retried_timestamp = True
                old = self.time_offset_ms
                await self.sync_time()
                self._log.warning(
                    f"-1021 on {method} {path}: clock offset {old} -> {self.time_offset_ms} ms; retrying once"
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
        query = self.build_query(params, signed)
        url = URL(f"{self._base_url}{path}?{query}" if query else f"{self._base_url}{path}", encoded=True)
        headers = {}
        if signed or api_key:
            if not self._api_key:
                raise BinanceError("endpoint requires api_key", method=method, path=path)
            headers["X-MBX-APIKEY"] = self._api_key
        session = self._get_session()
        try:
            async with session.request(method, url, headers=headers, timeout=self._timeout) as resp:
                body = await resp.read()
                status = resp.status
                resp_headers = resp.headers
        except aiohttp.ClientConnectorError as exc:
            # Connection could not be established: the request never left this process.
            raise BinanceTransportError(
                f"connect failed for {method} {path}: {type(exc).__name__}", method=method, path=path
            ) from None
        except TimeoutError:
            raise BinanceAmbiguous("timeout", method=method, path=path) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise BinanceAmbiguous(
                f"connection error: {type(exc).__name__}", method=method, path=path
            ) from None

        now = self.now_ms()
        self.rate_limiter.update_from_headers(resp_headers, now)

        if 200 <= status < 300:
            try:
                return http_decoder(tp).decode(body)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise BinanceAmbiguous(
                    f"undecodable {status} response: {exc}", http_status=status, method=method, path=path
                ) from None

        code, msg = self._parse_error(body)
        if status in (418, 429):
            retry_after = parse_retry_after(resp_headers.get("Retry-After"))
            if retry_after is not None:
                self.rate_limiter.block_for(retry_after, now)
            raise BinanceRateLimited(
                code if code is not None else -1003,
                msg or f"HTTP {status}",
                http_status=status,
                retry_after_secs=retry_after,
                method=method,
                path=path,
            )
        if code in AMBIGUOUS_CODES:
            raise BinanceAmbiguous(
                f"code={code} msg={msg!r}", code=code, http_status=status, method=method, path=path
            )
        if status >= 500 or status == 408:
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
        try:
            err = _ERROR_DECODER.decode(body)
            return err.code, err.msg
        except (msgspec.ValidationError, msgspec.DecodeError):
            text = body[:200].decode("utf-8", "replace").strip()
            return None, text

    async def sync_time(self) -> int:
        """Fetch server time and set ``time_offset_ms`` (server - local midpoint). Returns the offset."""
        t0 = self._wall_ms()
        st: ServerTime = await self._request_once(
            "GET", f"{API_V1}/time", ServerTime, None, False, False, 1, False
        )
        t1 = self._wall_ms()
        self.time_offset_ms = st.serverTime - (t0 + t1) // 2
        return self.time_offset_ms

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
        self,
        symbol: str,
        side: str,
        order_type: str,
        *,
        quantity: str | Decimal | None = None,
        price: str | Decimal | None = None,
        time_in_force: str | None = None,
        reduce_only: bool | None = None,
        position_side: str | None = None,
        new_client_order_id: str | None = None,
        stop_price: str | Decimal | None = None,
        close_position: bool | None = None,
        activation_price: str | Decimal | None = None,
        callback_rate: str | Decimal | None = None,
        working_type: str | None = None,
        price_protect: bool | None = None,
        price_match: str | None = None,
        self_trade_prevention_mode: str | None = None,
        good_till_date: int | None = None,
        new_order_resp_type: str | None = None,
    ) -> Order:
        params: dict[str, ParamValue] = {
            "symbol": symbol,
            "side": side,
            "type": order_type,
            "positionSide": position_side,
            "timeInForce": time_in_force,
            "quantity": quantity,
            "reduceOnly": reduce_only,
            "price": price,
            "newClientOrderId": new_client_order_id,
            "stopPrice": stop_price,
            "closePosition": close_position,
            "activationPrice": activation_price,
            "callbackRate": callback_rate,
            "workingType": working_type,
            "priceProtect": price_protect,
            "priceMatch": price_match,
            "selfTradePreventionMode": self_trade_prevention_mode,
            "goodTillDate": good_till_date,
            "newOrderRespType": new_order_resp_type,
        }
        return await self.request("POST", f"{API_V1}/order", Order, params, signed=True, is_order=True)

    async def modify_order(
        self,
        symbol: str,
        side: str,
        quantity: str | Decimal,
        price: str | Decimal,
        *,
        order_id: int | None = None,
        orig_client_order_id: str | None = None,
        price_match: str | None = None,
    ) -> Order:
        params: dict[str, ParamValue] = {
            "symbol": symbol,
            "orderId": order_id,
            "origClientOrderId": orig_client_order_id,
            "side": side,
            "quantity": quantity,
            "price": price,
            "priceMatch": price_match,
        }
        return await self.request("PUT", f"{API_V1}/order", Order, params, signed=True, is_order=True)

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        params = {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}
        return await self.request("DELETE", f"{API_V1}/order", Order, params, signed=True)

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Order:
        params = {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}
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
        self,
        symbol: str,
        side: str,
        order_type: str,
        *,
        quantity: str | Decimal | None = None,
        price: str | Decimal | None = None,
        trigger_price: str | Decimal | None = None,
        time_in_force: str | None = None,
        working_type: str | None = None,
        position_side: str | None = None,
        reduce_only: bool | None = None,
        close_position: bool | None = None,
        price_protect: bool | None = None,
        price_match: str | None = None,
        activate_price: str | Decimal | None = None,
        callback_rate: str | Decimal | None = None,
        client_algo_id: str | None = None,
        self_trade_prevention_mode: str | None = None,
        good_till_date: int | None = None,
    ) -> AlgoOrder:
        params: dict[str, ParamValue] = {
            "algoType": "CONDITIONAL",
            "symbol": symbol,
            "side": side,
            "positionSide": position_side,
            "type": order_type,
            "timeInForce": time_in_force,
            "quantity": quantity,
            "price": price,
            "triggerPrice": trigger_price,
            "workingType": working_type,
            "priceMatch": price_match,
            "closePosition": close_position,
            "priceProtect": price_protect,
            "reduceOnly": reduce_only,
            "activatePrice": activate_price,
            "callbackRate": callback_rate,
            "clientAlgoId": client_algo_id,
            "selfTradePreventionMode": self_trade_prevention_mode,
            "goodTillDate": good_till_date,
        }
        return await self.request(
            "POST", f"{API_V1}/algoOrder", AlgoOrder, params, signed=True, weight=0, is_order=True
        )

    async def cancel_algo_order(
        self, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoCancelResponse:
        params = {"algoId": algo_id, "clientAlgoId": client_algo_id}
        return await self.request("DELETE", f"{API_V1}/algoOrder", AlgoCancelResponse, params, signed=True)

    async def query_algo_order(
        self, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        params = {"algoId": algo_id, "clientAlgoId": client_algo_id}
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
