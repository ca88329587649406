"""A minimal BingX wire client for the simulator's own tests and demos (not the adapter's client):
signs requests the documented way and decodes the gzip websocket frames."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec
import yarl

from adapters.sim.bingx.signing import sign


def query_string(params: dict[str, Any]) -> str:
    """``k=v&...`` in the order given, values rendered as BingX expects (bools lower-case)."""
    parts = []
    for k, v in params.items():
        if v is None:
            continue
        value = ("true" if v else "false") if isinstance(v, bool) else str(v)
        parts.append(f"{k}={value}")
    return "&".join(parts)


class BingxTestClient:
    def __init__(
        self, rest_url: str, ws_url: str, api_key: str, api_secret: str, session: aiohttp.ClientSession
    ):
        self.rest_url = rest_url
        self.ws_url = ws_url
        self.api_key = api_key
        self.api_secret = api_secret
        self.session = session

    def signed_query(
        self, params: dict[str, Any], *, timestamp: int | None = None, encode: bool = False
    ) -> str:
        """Sign the raw ``k=v`` string; with ``encode`` send the values percent-encoded (CCXT style)."""
        params = {**params, "timestamp": timestamp if timestamp is not None else int(time.time() * 1000)}
        raw = query_string(params)
        sent = raw
        if encode:
            sent = "&".join(
                f"{k}={quote(v, safe='')}" for k, _, v in (p.partition("=") for p in raw.split("&"))
            )
        return sent + "&signature=" + sign(self.api_secret, raw)

    async def signed(
        self,
        method: str,
        path: str,
        *,
        api_key: str | None = None,
        timestamp: int | None = None,
        encode: bool = False,
        **params: Any,
    ) -> tuple[int, Any, Any]:
        query = self.signed_query(params, timestamp=timestamp, encode=encode)
        url = yarl.URL(f"{self.rest_url}{path}?{query}", encoded=True)
        async with self.session.request(method, url, headers={"X-BX-APIKEY": api_key or self.api_key}) as r:
            raw = await r.read()
            return r.status, r.headers, msgspec.json.decode(raw) if raw.strip() else None

    async def ok(self, method: str, path: str, **params: Any) -> Any:
        """A signed call that must succeed; returns ``data``."""
        status, _, body = await self.signed(method, path, **params)
        assert status == 200 and body["code"] == 0, (status, body)
        return body["data"]

    async def public(self, path: str, **params: Any) -> tuple[int, Any, Any]:
        async with self.session.get(f"{self.rest_url}{path}", params=params) as r:
            return r.status, r.headers, msgspec.json.decode(await r.read())

    async def control(self, path: str, body: Any = None) -> Any:
        async with self.session.post(f"{self.rest_url}{path}", json=body) as r:
            data = msgspec.json.decode(await r.read())
            assert r.status == 200, data
            return data

    async def listen_key(self) -> str:
        async with self.session.post(
            f"{self.rest_url}/openApi/user/auth/userDataStream", headers={"X-BX-APIKEY": self.api_key}
        ) as r:
            assert r.status == 200
            body = msgspec.json.decode(await r.read())
            return str(body["listenKey"])

    async def ws(self, listen_key: str | None = None, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        url = self.ws_url + (f"?listenKey={listen_key}" if listen_key else "")
        return await self.session.ws_connect(url, **kwargs)


def decode_frame(msg: aiohttp.WSMessage) -> Any:
    """A server frame: gzip binary → JSON (or the bare string, e.g. ``Ping``)."""
    if msg.type is not aiohttp.WSMsgType.BINARY:
        raise AssertionError(f"expected a gzip binary frame, got {msg.type} {msg.data!r}")
    text = gzip.decompress(msg.data).decode()
    try:
        return msgspec.json.decode(text.encode())
    except msgspec.DecodeError:
        return text


async def next_frame(
    ws: aiohttp.ClientWebSocketResponse,
    predicate: Callable[[Any], bool] = lambda m: True,
    within: float = 5.0,
    *,
    answer_pings: bool = True,
) -> Any:
    """The next decoded frame matching ``predicate``; ``Ping`` is answered with ``Pong`` and skipped."""
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                raise AssertionError(f"socket ended: {msg.type} {msg.data!r}")
            data = decode_frame(msg)
            if data == "Ping" and answer_pings:
                await ws.send_str("Pong")
                continue
            if predicate(data):
                return data
