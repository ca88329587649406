"""``WsApiListenKeys`` sans I/O: which answers of the trading socket are final and which are asked
again over REST (``adapters.binance_futures.listen_keys``)."""

from __future__ import annotations

import enum
import logging
from typing import Any

import pytest

from adapters.binance_futures.errors import BinanceAmbiguous, BinanceRateLimited, BinanceRejection
from adapters.binance_futures.listen_keys import RestListenKeys, WsApiListenKeys
from adapters.binance_futures.ws_trading import WsNotSent


class _State(enum.Enum):
    READY = "ready"
    RECONNECTING = "reconnecting"


class FakeSocket:
    def __init__(self, *, ready: bool = True, fail: Exception | None = None) -> None:
        self.is_ready = ready
        self.state = _State.READY if ready else _State.RECONNECTING
        self.fail = fail
        self.calls: list[tuple[str, str | None]] = []

    def _answer(self, method: str, key: str | None) -> None:
        self.calls.append((method, key))
        if self.fail is not None:
            raise self.fail

    async def start_user_data_stream(self) -> str:
        self._answer("start", None)
        return "K-ws"

    async def ping_user_data_stream(self, key: str) -> None:
        self._answer("ping", key)

    async def stop_user_data_stream(self, key: str) -> None:
        self._answer("stop", key)


class FakeRest:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def create(self) -> str:
        self.calls.append(("POST", None))
        return "K-rest"

    async def keepalive(self, key: str) -> None:
        self.calls.append(("PUT", key))

    async def delete(self, key: str) -> None:
        self.calls.append(("DELETE", key))


def make(socket: FakeSocket) -> tuple[WsApiListenKeys, FakeRest]:
    rest = FakeRest()
    keys = WsApiListenKeys(socket, rest, logger=logging.getLogger("test"))  # type: ignore[arg-type]
    return keys, rest


async def test_a_ready_socket_carries_all_three() -> None:
    socket = FakeSocket()
    keys, rest = make(socket)
    assert await keys.create() == "K-ws"
    await keys.keepalive("K")
    await keys.delete("K")
    assert socket.calls == [("start", None), ("ping", "K"), ("stop", "K")]
    assert rest.calls == [] and keys.rest_fallbacks == 0
    assert dict(keys.ws_calls) == {
        "userDataStream.start": 1,
        "userDataStream.ping": 1,
        "userDataStream.stop": 1,
    }


async def test_a_socket_that_is_not_ready_is_not_asked() -> None:
    socket = FakeSocket(ready=False)
    keys, rest = make(socket)
    assert await keys.create() == "K-rest"
    await keys.keepalive("K")
    assert socket.calls == [] and rest.calls == [("POST", None), ("PUT", "K")]
    assert keys.rest_calls["userDataStream.start"] == 1 and keys.rest_fallbacks == 2


@pytest.mark.parametrize(
    "lost",
    [
        WsNotSent("not sent: ConnectionError", method="userDataStream.ping", path="/ws-fapi/v1"),
        BinanceAmbiguous("connection lost before response", method="userDataStream.ping", path="/ws-fapi/v1"),
        BinanceAmbiguous("code=-1007", code=-1007, http_status=408, method="x", path="/ws-fapi/v1"),
    ],
    ids=["not-sent", "cut", "timeout"],
)
async def test_an_unsent_or_unanswered_request_is_asked_again_over_rest(lost: Exception) -> None:
    socket = FakeSocket(fail=lost)
    keys, rest = make(socket)
    await keys.keepalive("K")
    assert await keys.create() == "K-rest"
    assert socket.calls == [("ping", "K"), ("start", None)]
    assert rest.calls == [("PUT", "K"), ("POST", None)]


@pytest.mark.parametrize(
    "answer",
    [
        BinanceRejection(-1125, "This listenKey does not exist.", http_status=400, method="m", path="p"),
        BinanceRateLimited(
            -1003, "Too many requests.", http_status=429, retry_after_secs=None, method="m", path="p"
        ),
    ],
    ids=["-1125", "rate-limited"],
)
async def test_a_definite_answer_is_the_answer(answer: Exception) -> None:
    socket = FakeSocket(fail=answer)
    keys, rest = make(socket)
    with pytest.raises(type(answer)):
        await keys.keepalive("K")
    assert rest.calls == []  # a key the venue says is gone must rotate, not be asked about twice


async def test_rest_keys_delegate_to_the_http_client() -> None:
    calls: list[tuple[str, Any]] = []

    class Http:
        async def create_listen_key(self) -> str:
            calls.append(("POST", None))
            return "K"

        async def keepalive_listen_key(self, key: str) -> None:
            calls.append(("PUT", key))

        async def close_listen_key(self, key: str) -> None:
            calls.append(("DELETE", key))

    keys = RestListenKeys(Http())  # type: ignore[arg-type]
    assert await keys.create() == "K"
    await keys.keepalive("K")
    await keys.delete("K")
    assert calls == [("POST", None), ("PUT", "K"), ("DELETE", "K")]
