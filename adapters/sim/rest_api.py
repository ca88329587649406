"""The REST scaffolding both dialects share: the route table, reading a request's parameters, the
fault middleware (latency, fail rules, late execution, unknown paths, the catch-all for what no
route foresaw) and the late run of a request. A dialect subclasses :class:`RestApi` with its route
table, its request pipeline (``_execute``: rate limits, authentication, the venue's envelope) and
its answers to what the middleware decides (unknown path, internal error, injected failure).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from adapters.sim.accounting import OTHER, RequestLog
from adapters.sim.faults import FailRule, Faults
from adapters.sim.late import Outcome, request_deadline_ms
from adapters.sim.wirejson import decode


class RestVenue(Protocol):
    """What the scaffolding uses of a dialect's venue."""

    faults: Faults
    requests: RequestLog


class AccountKey(Protocol):
    @property
    def account_id(self) -> str: ...


VenueT = TypeVar("VenueT", bound=RestVenue)
ParamsT = TypeVar("ParamsT")
KeyT = TypeVar("KeyT", bound=AccountKey)


@dataclass(slots=True)
class Ctx(Generic[VenueT, ParamsT, KeyT]):
    """What a route handler gets: the venue, the request, its parameters and the API key it was
    authenticated with (None on a public route)."""

    venue: VenueT
    request: web.Request | None  # None when a late execution runs the request after its answer
    params: ParamsT
    key: KeyT | None

    @property
    def account(self) -> str:
        assert self.key is not None
        return self.key.account_id


@dataclass(slots=True)
class Route:
    method: str
    path: str
    fn: Callable[[Any], Any]
    security: str


RouteT = TypeVar("RouteT", bound=Route)


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A request as read off the wire: what the pipeline needs, also to run it again later."""

    raw_query: str
    body: str  # a form body as sent ("" for none or for a JSON body)
    params: dict[str, str]  # body parameters, then the query string's (the query string wins)
    api_key: str | None  # the dialect's API-key header
    remote: str


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(body), status=status, content_type="application/json", headers=headers
    )


class RestApi(ABC, Generic[VenueT, RouteT]):
    PREFIX: ClassVar[str]  # the paths this API serves; the middleware leaves the others alone
    API_KEY_HEADER: ClassVar[str]

    def __init__(self, venue: VenueT) -> None:
        self.venue = venue
        self.routes: dict[tuple[str, str], RouteT] = {}
        self._define()

    # --- the dialect's part ------------------------------------------------------------------------
    @abstractmethod
    def _define(self) -> None:
        """Fill ``self.routes``."""

    @abstractmethod
    async def _execute(
        self, route: RouteT, raw: RawRequest, request: web.Request | None
    ) -> web.StreamResponse:
        """Run one request through the venue's checks and its route (also what a late execution
        runs, with ``request`` None)."""

    @abstractmethod
    def _json_body_params(self, raw: str) -> dict[str, str]:
        """The parameters of an ``application/json`` body."""

    @abstractmethod
    def _unknown_route(self, request: web.Request, method_not_allowed: bool) -> web.Response: ...

    @abstractmethod
    def _internal_error(self) -> web.Response:
        """The venue's answer to a case no route foresaw (HTTP 500, still the venue's envelope)."""

    @abstractmethod
    def _fail_response(self, rule: FailRule) -> web.Response:
        """The venue's answer for an injected failure."""

    def _accepted(self, response: web.StreamResponse, answer: Any) -> bool:
        """Whether a late run was accepted by the venue (HTTP 200 unless the dialect says more)."""
        return response.status == 200

    # --- routing -----------------------------------------------------------------------------------
    def install(self, app: web.Application) -> None:
        paths: dict[str, list[RouteT]] = {}
        for route in self.routes.values():
            paths.setdefault(route.path, []).append(route)
        # One aiohttp resource per path, its methods together.
        for path, routes in paths.items():
            for route in routes:
                app.router.add_route(route.method, path, self._handler(route))

    def _handler(self, route: RouteT) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._execute(route, await self._read(request), request)

        return handle

    async def _read(self, request: web.Request) -> RawRequest:
        raw_query = request.rel_url.raw_query_string
        body = ""
        params: dict[str, str] = {}
        if request.body_exists:
            raw = (await request.read()).decode("utf-8", errors="replace")
            if request.content_type == "application/json":
                params.update(self._json_body_params(raw))
            else:
                body = raw
                params.update(parse_qsl(body, keep_blank_values=True))
        params.update(parse_qsl(raw_query, keep_blank_values=True))  # the query string wins
        return RawRequest(
            raw_query, body, params, request.headers.get(self.API_KEY_HEADER), request.remote or "ip"
        )

    # --- middleware: latency, injected failures, unknown paths --------------------------------------
    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        v = self.venue
        log = logging.getLogger(type(self).__module__)  # the dialect's logger, as before the split

        @web.middleware
        async def rest_faults(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            if not request.path.startswith(self.PREFIX):
                return await handler(request)
            faults = v.faults
            known = (request.method, request.path) in self.routes
            v.requests.count(f"{request.method} {request.path}" if known else OTHER)
            if faults.rest_latency_ms:
                await asyncio.sleep(faults.rest_latency_ms / 1000)
            rule = faults.take_fail_rule(request.method, request.path)
            if rule is not None and rule.execute_after_ms is not None:
                await self._schedule_late(request, rule.execute_after_ms)
                return self._failure(request, rule)
            if rule is not None and not rule.after_execute:
                return self._failure(request, rule)
            try:
                response = await handler(request)
            except web.HTTPNotFound:
                response = self._unknown_route(request, method_not_allowed=False)
            except web.HTTPMethodNotAllowed:
                response = self._unknown_route(request, method_not_allowed=True)
            except web.HTTPException:
                raise
            except Exception:
                # A case no route foresaw: still the venue's envelope, never a plain-text 500. Logged
                # at ERROR because it is a simulator bug (the fuzz test fails on it).
                log.exception("unhandled error serving %s %s", request.method, request.path)
                response = self._internal_error()
            if rule is not None:
                log.info(
                    "fail rule %s %s: executed, response replaced (status %d)",
                    rule.method,
                    rule.path,
                    rule.status,
                )
                return self._failure(request, rule)
            return response

        return rest_faults

    async def _schedule_late(self, request: web.Request, delay_ms: int) -> None:
        """Run this request ``delay_ms`` from now, after the client got its failure (or lost its
        connection); dropped if that is past the request's ``timestamp + recvWindow`` (both venues
        refuse a request older than its recvWindow, default 5000 ms)."""
        route = self.routes.get((request.method, request.path))
        if route is None:
            return  # an unknown path executes nothing, late or not
        raw = await self._read(request)

        async def run() -> Outcome:
            response = await self._execute(route, raw, None)
            body = response.body if isinstance(response, web.Response) else None
            answer = decode(body) if isinstance(body, bytes) and body else None
            return self._accepted(response, answer), answer

        self.venue.faults.late.schedule(
            f"{request.method} {request.path}", delay_ms, request_deadline_ms(raw.params), run
        )

    def _failure(self, request: web.Request, rule: FailRule) -> web.StreamResponse:
        if rule.status == 0:
            # Cut the connection without any response; aiohttp finds nothing to write to.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        return self._fail_response(rule)
