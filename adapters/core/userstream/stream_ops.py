"""The part of a venue's user-stream operations (``RecoveryVenue``) both venues share.

The recovery driver's snapshot phases are the venue's REST sync's, a frame goes to the venue's
user-stream handler, and a socket for a listen key is a :class:`WsConnection` on the venue's URL
for that key. A venue subclass adds its listen-key endpoints (on the venue's REST client, ``self._http``)
and :meth:`stream_url`.
"""

from __future__ import annotations

import logging
from typing import ClassVar, Generic, Protocol, TypedDict, TypeVar, Unpack

import aiohttp

from adapters.core.net.stream import Frame, StreamHandle
from adapters.core.net.ws_connection import WsConfig, WsConnection
from adapters.core.userstream.recovery import SnapshotOutcome


class SnapshotSync(Protocol):
    async def snapshot(self) -> SnapshotOutcome: ...
    async def post_snapshot(self) -> SnapshotOutcome: ...


class FrameHandler(Protocol):
    def handle_frame(self, frame: Frame) -> None: ...


H = TypeVar("H")  # the venue's REST client


class StreamOpsArgs(TypedDict, Generic[H]):
    """What every venue's user-stream operations are built with (``PerpExecutionClient._stream_ops_args``)."""

    http: H
    sync: SnapshotSync
    handler: FrameHandler
    ws_base_url: str
    ws_config: WsConfig
    session: aiohttp.ClientSession | None
    logger: logging.Logger


class VenueStreamOps(Generic[H]):
    """Snapshot phases, socket and frames of a venue's user stream (see the module docstring)."""

    socket_name: ClassVar[str] = "user"  # sockets are named ``<socket_name>-<n>``

    def __init__(self, **args: Unpack[StreamOpsArgs[H]]) -> None:
        self._http: H = args["http"]
        self._sync = args["sync"]
        self._handler = args["handler"]
        self._ws_base_url = args["ws_base_url"]
        self._ws_config = args["ws_config"]
        self._session = args["session"]
        self._log = args["logger"]
        self.connections = 0

    def stream_url(self, listen_key: str) -> str:
        raise NotImplementedError

    async def snapshot(self) -> SnapshotOutcome:
        return await self._sync.snapshot()

    async def post_snapshot(self) -> SnapshotOutcome:
        return await self._sync.post_snapshot()

    async def connect_stream(self, listen_key: str) -> StreamHandle:
        self.connections += 1
        conn = WsConnection(
            self.stream_url(listen_key),
            config=self._ws_config,
            session=self._session,
            name=f"{self.socket_name}-{self.connections}",
            logger=self._log,
        )
        await conn.start()
        return conn

    def handle_frame(self, frame: Frame) -> None:
        self._handler.handle_frame(frame)
