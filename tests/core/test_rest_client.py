"""core.rest_client: the venue-neutral REST frame (signing frame, transport classification, retries)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import msgspec
import pytest

from adapters.core.net.http_errors import (
    VenueAmbiguous,
    VenueError,
    VenueRateLimited,
    VenueRejection,
    VenueTransportError,
)
from adapters.core.net.rest_client import (
    RestClientBase,
    VenueErrorTypes,
    format_param,
    param_strings,
    parse_error_body,
)


class _ErrorBody(msgspec.Struct):
    code: int | None = None
    msg: str | None = None


class _Signer:
    def sign(self, payload: str) -> str:
        return f"sig({payload})"


class _Client(RestClientBase):
    ERRORS: ClassVar = VenueErrorTypes(VenueError, VenueAmbiguous, VenueTransportError, VenueRateLimited)
    API_KEY_HEADER: ClassVar = "X-KEY"

    def __init__(self, signer: _Signer | None = None, api_key: str | None = "k") -> None:
        super().__init__(
            "http://venue.test/",
            api_key,
            signer,
            timeout_secs=1.0,
            recv_window_ms=5_000,
            session=None,
            logger=None,
            wall_ms=lambda: 1_000,
            sleep=_no_sleep,
            max_retry_after_secs=5.0,
        )
        self.blocked: list[float] = []
        self.server_ms = 1_500

    def _block_all(self, secs: float, now_ms: int) -> None:
        self.blocked.append(secs)

    def _is_clock_error(self, exc: VenueRejection) -> bool:
        return exc.code == -1

    async def _fetch_server_time_ms(self) -> int:
        return self.server_ms


async def _no_sleep(_: float) -> None:
    return None


def test_format_param_and_param_strings() -> None:
    assert format_param(True) == "true"
    assert format_param(Decimal("1E-7")) == "0.0000001"
    params: Mapping[str, Any] = {"b": "x y", "a": None, "c": 5}
    assert param_strings(params) == ("b=x y&c=5", "b=x%20y&c=5")
    assert param_strings(None) == ("", "")


def test_parse_error_body() -> None:
    dec = msgspec.json.Decoder(_ErrorBody)
    assert parse_error_body(b'{"code": 7, "msg": "no"}', dec) == (7, "no")
    assert parse_error_body(b'{"code": 7}', dec) == (7, "")
    assert parse_error_body(b"<html>bad gateway</html>", dec) == (None, "<html>bad gateway</html>")


def test_parse_error_body_reads_the_code_whatever_the_message_is() -> None:
    # Fuzz: a message the venue's decoder cannot read (out of range, nested, wrong type) hid the
    # code next to it, and the code is what decides ambiguous / rate limited / rejected.
    dec = msgspec.json.Decoder(_ErrorBody)
    assert parse_error_body(b'{"code": -1021, "msg": 1e400}', dec) == (-1021, "1e400")
    assert parse_error_body(b'{"code": -1003, "msg": {"a": [1]}}', dec) == (-1003, "{'a': [1]}")
    assert parse_error_body(b'{"msg": "x", "code": 109400}', dec) == (109400, "x")
    assert parse_error_body(b'{"code": 1e400, "msg": "x"}', dec) == (None, "x")
    assert parse_error_body(b'{"code": "7", "msg": "x"}', dec) == (None, "x")
    assert parse_error_body(b'{"code": true, "msg": "x"}', dec) == (None, "x")
    assert parse_error_body(b'{"code": 4294967296, "msg": "x"}', dec) == (None, "x")


def test_build_query_signs_after_timestamp() -> None:
    client = _Client(_Signer())
    assert client.build_query({"s": "A"}, signed=False) == "s=A"
    assert client.build_query({"s": "A"}, signed=True) == (
        "s=A&timestamp=1000&recvWindow=5000&signature=sig(s=A&timestamp=1000&recvWindow=5000)"
    )
    with pytest.raises(VenueError, match="api_secret"):
        _Client(None).build_query({}, signed=True)


def test_key_headers_require_a_key() -> None:
    assert _Client()._key_headers(True, "GET", "/p") == {"X-KEY": "k"}
    assert _Client(api_key=None)._key_headers(False, "GET", "/p") == {}
    with pytest.raises(VenueError, match="api_key"):
        _Client(api_key=None)._key_headers(True, "GET", "/p")


def test_rate_limited_blocks_and_raises() -> None:
    client = _Client()
    client._raise_if_rate_limited(400, 1, "x", {}, 0, "GET", "/p")  # not 418/429: nothing
    with pytest.raises(VenueRateLimited) as info:
        client._raise_if_rate_limited(429, None, "", {"Retry-After": "2"}, 0, "GET", "/p")
    assert (info.value.code, info.value.msg, info.value.retry_after_secs) == (429, "HTTP 429", 2.0)
    assert client.blocked == [2.0]


async def test_retries_once_after_short_retry_after_and_clock_error() -> None:
    client = _Client()
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise VenueRateLimited(1, "slow", http_status=429, retry_after_secs=1.0)
        if len(calls) == 2:
            raise VenueRejection(-1, "clock")
        return "ok"

    assert await client._with_retries("GET", "/p", True, attempt) == "ok"
    assert len(calls) == 3
    assert client.time_offset_ms == 500  # server 1500 - local midpoint 1000


async def test_clock_error_not_retried_unsigned_or_twice() -> None:
    client = _Client()

    async def attempt() -> str:
        raise VenueRejection(-1, "clock")

    with pytest.raises(VenueRejection):
        await client._with_retries("GET", "/p", False, attempt)
    with pytest.raises(VenueRejection):
        await client._with_retries("GET", "/p", True, attempt)


async def test_transport_classification_and_session_ownership() -> None:
    client = _Client()
    client._base_url = "http://127.0.0.1:9"  # nothing listens: connect fails, never sent
    with pytest.raises(VenueTransportError):
        await client._exchange("GET", "/p", client._url("/p", ""), {})
    assert client._owns_session
    await client.close()
    assert client._session is None
