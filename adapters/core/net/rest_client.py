"""The venue-neutral half of an async REST client (aiohttp): session, clock, transport, retries, signing.

Both venues' clients send every parameter in a pre-encoded query string, append ``timestamp`` and
``recvWindow`` to signed requests, retry a 429 with a short ``Retry-After`` once and a clock-skew rejection
once (after re-syncing the offset). That logic lives here once; a venue subclass supplies only what
differs:

* the error classes (:class:`VenueErrorTypes`) and its API-key header name;
* how a parameter string is formatted and signed (:meth:`RestClientBase._param_strings`,
  :meth:`RestClientBase._signature`);
* which rejection is a clock error and how it is named in the log (:meth:`RestClientBase._is_clock_error`,
  :meth:`RestClientBase._clock_error_label`);
* the server-time fetch (:meth:`RestClientBase._fetch_server_time_ms`), envelope decoding and the
  classification of non-2xx answers other than 418/429.

Secrets (api secret, signature, full query) never appear in logs or exception messages: errors carry only
method, path, code and the venue's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, NamedTuple, Protocol, TypedDict, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
from yarl import URL

from adapters.core.base.rate_window import parse_retry_after
from adapters.core.base.timestamps import wall_clock_ms
from adapters.core.net.fleet_budget import FleetBudget, FleetBudgetExhausted, Grant
from adapters.core.net.http_errors import (
    VenueAmbiguous,
    VenueError,
    VenueRateLimited,
    VenueRejection,
    VenueTransportError,
)

T = TypeVar("T")
ParamValue = str | int | float | bool | Decimal | None


class LoggerLike(Protocol):
    def debug(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...


class NullLogger:
    """The logger used when none is injected (the clients must not require one)."""

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


class Signer(Protocol):
    def sign(self, payload: str) -> str: ...


class VenueErrorTypes(NamedTuple):
    """A venue's subclasses of the :mod:`~adapters.core.net.http_errors` taxonomy: callers catch either."""

    error: type[VenueError]
    ambiguous: type[VenueAmbiguous]
    transport: type[VenueTransportError]
    rate_limited: type[VenueRateLimited]


class ErrorBodyLike(Protocol):
    @property
    def code(self) -> int | None: ...
    @property
    def msg(self) -> str | None: ...


def format_param(value: ParamValue) -> str:
    """Wire text of one parameter: ``true``/``false`` for bools, plain (non-exponent) text for Decimals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def param_strings(
    params: Mapping[str, Any] | None, fmt: Callable[[Any], str] = format_param
) -> tuple[str, str]:
    """``(raw, encoded)``: ``k=v&...`` in insertion order (None dropped), and the same with each value
    percent-encoded (keys never). Which of the two a venue signs is its own business."""
    if not params:
        return "", ""
    raw: list[str] = []
    sent: list[str] = []
    for k, v in params.items():
        if v is None:
            continue
        s = fmt(v)
        raw.append(f"{k}={s}")
        sent.append(f"{k}={quote(s, safe='')}")
    return "&".join(raw), "&".join(sent)


class _RawCodeBody(msgspec.Struct, gc=False):
    code: msgspec.Raw = msgspec.Raw(b"null")
    msg: msgspec.Raw = msgspec.Raw(b"null")


_RAW_CODE_DECODER = msgspec.json.Decoder(_RawCodeBody)
_UNDECODABLE = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)
UNREADABLE: Final = "<unreadable>"
"""The code of :func:`read_code_and_message` when the ``code`` field is no valid JSON value."""


def read_code_and_message(body: bytes) -> tuple[object, str] | None:
    """``(code, message text)`` of a JSON object body, each field read on its own, so that a message that
    is no valid value (a number out of range, a nested structure, a wrong type) cannot hide the code next
    to it: the code decides whether an answer is ambiguous, a rate limit or a rejection. ``code`` is the
    decoded JSON value (None when absent), or :data:`UNREADABLE`. None when the body is no JSON object."""
    try:
        raw = _RAW_CODE_DECODER.decode(body)
    except _UNDECODABLE:
        return None
    code: object
    try:
        code = msgspec.json.decode(raw.code)
    except _UNDECODABLE:
        code = UNREADABLE
    try:
        msg = msgspec.json.decode(raw.msg)
        text = msg if isinstance(msg, str) else ("" if msg is None else str(msg))
    except _UNDECODABLE:
        text = bytes(raw.msg).decode("utf-8", "replace")
    return code, text


def parse_error_body(body: bytes, decoder: msgspec.json.Decoder[Any]) -> tuple[int | None, str]:
    """``(code, msg)`` of an error body; a body that is not the venue's error JSON yields ``(None, text)``
    with the text cut to 200 characters (it may be an HTML error page). The venue's ``decoder`` reads the
    usual body; when it cannot, :func:`read_code_and_message` reads the fields one by one."""
    try:
        err: ErrorBodyLike = decoder.decode(body)
        return _checked_code(err.code), str(err.msg or "")[:500]
    except _UNDECODABLE:
        pass
    read = read_code_and_message(body)
    if read is None:
        return None, body[:200].decode("utf-8", "replace").strip()
    code, text = read
    return _checked_code(code), text[:500]


def _checked_code(code: object) -> int | None:
    """A code is an integer; anything else (a bool, a string, a number out of any sane range) is no code."""
    if isinstance(code, int) and not isinstance(code, bool) and -(2**31) <= code < 2**31:
        return code
    return None


class RawResponse(NamedTuple):
    status: int
    body: bytes
    headers: Mapping[str, str]


class RestClientOptions(TypedDict, total=False):
    """The transport options every venue's REST client takes and hands to :class:`RestClientBase`
    unchanged (keyword-only; the defaults are the base's): the venue constructors name only what is
    their own (signer, rate limiter), so a new option is added here once."""

    timeout_secs: float
    recv_window_ms: int
    session: aiohttp.ClientSession | None
    logger: LoggerLike | None
    wall_ms: Callable[[], int]
    sleep: Callable[[float], Awaitable[Any]]
    max_retry_after_secs: float
    fleet_budget: FleetBudget | None


class RestClientBase:
    """Session lifecycle, venue clock, transport classification, retry loop and the signed-query frame.

    Create inside a running event loop: the aiohttp session is created lazily on first use. An injected
    ``session`` is not closed by :meth:`close` (its owner closes it); a session created here is.
    """

    ERRORS: ClassVar[VenueErrorTypes]
    API_KEY_HEADER: ClassVar[str]
    # ``Retry-After`` blocks everything; the venue's rate limiter says how (Binance and BingX differ).
    RATE_LIMIT_RETRY_LABEL: ClassVar[str] = "Rate limited"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        signer: Signer | None,
        *,
        timeout_secs: float = 10.0,
        recv_window_ms: int = 5_000,
        session: aiohttp.ClientSession | None = None,
        logger: LoggerLike | None = None,
        wall_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_retry_after_secs: float = 5.0,
        fleet_budget: FleetBudget | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._signer = signer
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self._recv_window_ms = recv_window_ms
        self._session = session
        self._owns_session = session is None
        self._log: LoggerLike = logger or NullLogger()
        self._wall_ms = wall_ms
        self._sleep = sleep
        self._max_retry_after_secs = max_retry_after_secs
        self.time_offset_ms: int = 0
        # Shared with the other nodes on this IP (adapters.core.net.fleet_budget); None: the local limiter
        # alone, as for a single node.
        self.fleet_budget = fleet_budget

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, signer={self._signer!r})"

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
        if self.fleet_budget is not None:
            await self.fleet_budget.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    # -- signing frame ------------------------------------------------------------------------------

    def _param_strings(self, params: Mapping[str, Any] | None) -> tuple[str, str]:
        """``(to_sign, to_send)`` for ``params``; a venue overrides it to change what it signs."""
        return param_strings(params)

    def _signature(self, signer: Signer, payload: str) -> str:
        """The ``signature`` value as it goes into the URL."""
        return signer.sign(payload)

    def build_query(self, params: Mapping[str, Any] | None, signed: bool) -> str:
        """The query string to send (signed: ``...&timestamp=..&recvWindow=..&signature=..``)."""
        to_sign, to_send = self._param_strings(params)
        if not signed:
            return to_send
        if self._signer is None:
            raise self.ERRORS.error("signed endpoint requires api_secret")
        ts = f"timestamp={self.now_ms()}&recvWindow={self._recv_window_ms}"
        to_sign = f"{to_sign}&{ts}" if to_sign else ts
        to_send = f"{to_send}&{ts}" if to_send else ts
        return f"{to_send}&signature={self._signature(self._signer, to_sign)}"

    def _url(self, path: str, query: str) -> URL:
        # encoded=True: the bytes signed are the bytes sent; nothing is re-quoted in transit.
        return URL(f"{self._base_url}{path}?{query}" if query else f"{self._base_url}{path}", encoded=True)

    def _key_headers(self, needs_key: bool, method: str, path: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if needs_key:
            if not self._api_key:
                raise self.ERRORS.error("endpoint requires api_key", method=method, path=path)
            headers[self.API_KEY_HEADER] = self._api_key
        return headers

    # -- transport ----------------------------------------------------------------------------------

    async def _exchange(self, method: str, path: str, url: URL, headers: Mapping[str, str]) -> RawResponse:
        """One HTTP round trip; transport failures become transport (never sent) or ambiguous errors."""
        session = self._get_session()
        try:
            async with session.request(method, url, headers=headers, timeout=self._timeout) as resp:
                body = await resp.read()
                return RawResponse(resp.status, body, resp.headers)
        except aiohttp.ClientConnectorError as exc:
            # Connection could not be established: the request never left this process.
            raise self.ERRORS.transport(
                f"connect failed for {method} {path}: {type(exc).__name__}", method=method, path=path
            ) from None
        except TimeoutError:
            raise self.ERRORS.ambiguous("timeout", method=method, path=path) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self.ERRORS.ambiguous(
                f"connection error: {type(exc).__name__}", method=method, path=path
            ) from None

    def _raise_if_rate_limited(
        self,
        status: int,
        code: int | None,
        msg: str,
        headers: Mapping[str, str],
        now_ms: int,
        method: str,
        path: str,
    ) -> None:
        """HTTP 429/418: honour ``Retry-After`` (block every request until it passes) and raise."""
        if status not in (418, 429):
            return
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            self._block_all(retry_after, now_ms)
        raise self.ERRORS.rate_limited(
            code if code is not None else self._rate_limited_fallback_code(status),
            msg or f"HTTP {status}",
            http_status=status,
            retry_after_secs=retry_after,
            method=method,
            path=path,
        )

    def _block_all(self, secs: float, now_ms: int) -> None:
        raise NotImplementedError

    # -- fleet budget (several nodes on one IP) ------------------------------------------------------

    async def _fleet_acquire(
        self,
        bucket: str,
        weight: int,
        venue_limit: int,
        window_ms: int,
        method: str,
        path: str,
        blocks: tuple[str, ...] = (),
    ) -> Grant | None:
        """Take ``weight`` from the shared budget (waiting, bounded, while the fleet's window is spent
        or blocked). None: no shared budget, or Redis unavailable (the local limiter decides). A wait
        beyond the budget's bound raises the venue's rate-limited error: the request is not sent."""
        budget = self.fleet_budget
        if budget is None:
            return None
        try:
            return await budget.acquire(bucket, weight, venue_limit, window_ms, self.now_ms, blocks)
        except FleetBudgetExhausted as exc:
            raise self.ERRORS.rate_limited(
                self._rate_limited_fallback_code(429),
                f"fleet budget: {exc.reason}",
                http_status=None,
                retry_after_secs=exc.wait_secs,
                method=method,
                path=path,
            ) from None

    async def _fleet_share_rate_limit(self, status: int, headers: Mapping[str, str], now_ms: int) -> None:
        """A 429/418 ``Retry-After`` blocks every node sharing the budget, not only this one."""
        budget = self.fleet_budget
        if budget is None or status not in (418, 429):
            return
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            secs = self._shared_block_secs(retry_after)
            await budget.block(budget.global_block_key, now_ms + int(secs * 1000), now_ms)

    def _shared_block_secs(self, retry_after_secs: float) -> float:
        """How long a ``Retry-After`` blocks the fleet (a venue may cap what it believes)."""
        return retry_after_secs

    def _rate_limited_fallback_code(self, status: int) -> int:
        """The code of a 429/418 whose body carries none."""
        return status

    # -- retries and clock --------------------------------------------------------------------------

    def _is_clock_error(self, exc: VenueRejection) -> bool:
        raise NotImplementedError

    def _clock_error_label(self, exc: VenueRejection) -> str:
        return f"code {exc.code}"

    async def _with_retries(
        self, method: str, path: str, signed: bool, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``attempt``; retry once after a 429 with a short ``Retry-After`` (the request was not
        executed) and once after a clock-skew rejection of a signed request (after re-syncing time)."""
        retried_clock = False
        retried_429 = False
        while True:
            try:
                return await attempt()
            except VenueRateLimited as exc:
                if (
                    retried_429
                    or exc.is_ip_ban
                    or exc.retry_after_secs is None
                    or exc.retry_after_secs > self._max_retry_after_secs
                ):
                    raise
                retried_429 = True
                label = self.RATE_LIMIT_RETRY_LABEL
                self._log.warning(f"{label} on {method} {path}; retrying after {exc.retry_after_secs}s")
            except VenueRejection as exc:
                if not self._is_clock_error(exc) or retried_clock or not signed:
                    raise
                retried_clock = True
                old = self.time_offset_ms
                await self.sync_time()
                self._log.warning(
                    f"{self._clock_error_label(exc)} on {method} {path}: clock offset {old} -> "
                    f"{self.time_offset_ms} ms; retrying once"
                )

    async def _fetch_server_time_ms(self) -> int:
        """One unretried server-time request; returns the venue's epoch ms."""
        raise NotImplementedError

    async def sync_time(self) -> int:
        """Fetch server time and set ``time_offset_ms`` (server - local midpoint). Returns the offset."""
        t0 = self._wall_ms()
        server_ms = await self._fetch_server_time_ms()
        t1 = self._wall_ms()
        self.time_offset_ms = server_ms - (t0 + t1) // 2
        return self.time_offset_ms
