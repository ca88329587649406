"""``SimVenue``: one simulated venue served on 127.0.0.1 (ephemeral port by default).

    async with SimVenue(seed=7, step_interval=3600) as sim:
        sim.rest_url, sim.ws_url, sim.ws_api_url, sim.api_key, sim.api_secret,
        sim.ed25519_api_key, sim.ed25519_private_key_pem, sim.engine, sim.faults, sim.state()

    async with SimVenue("bingx", seed=7, step_interval=3600) as sim:
        sim.rest_url, sim.ws_market_url, sim.ws_user_url, sim.api_key, sim.api_secret, ...

The BingX venue serves the same engine, ``/sim/...`` routes and faults with BingX symbols
(``BTC-USDT``), precisions and order ids above 2**53.

The venue owns two tasks — the market step timer and the dialect's housekeeping (listen-key
expiry, reorder flushing) — and cancels and awaits both on exit, after closing every websocket.
Pass a large ``step_interval`` and drive ``sim.engine.step()`` / ``sim.faults.step(n)`` from
tests to make the market move only when asked.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from adapters.sim.bench_storm import StormDriver, add_storm_route
from adapters.sim.binance.app import BinanceSettings, BinanceVenue, Credentials
from adapters.sim.bingx.app import ALGO_ID_START, ORDER_ID_START, BingxSettings, BingxVenue
from adapters.sim.bingx.app import Credentials as BingxCredentials
from adapters.sim.bingx.specs import bingx_specs
from adapters.sim.bingx.ws import WS_PATH as BINGX_WS_PATH
from adapters.sim.control import add_control_routes
from adapters.sim.engine import VenueEngine, default_specs
from adapters.sim.faults import ConnectionRegistry, Faults, now_ms
from adapters.sim.model import SymbolSpec

log = logging.getLogger(__name__)


class _ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, except for requests the HTTP parser refused (an oversized request
    line, a malformed header): aiohttp answers those 400 itself but logs them at ERROR with a
    traceback. Nothing in the simulator failed, so they are logged at WARNING and ERROR keeps
    meaning "a simulator bug" (the fuzz test fails on any ERROR)."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError) and (exc_info.code or 400) < 500:
            self.warning("%s: %s", str(msg) % args if args else msg, exc_info.message, **kwargs)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


VENUES = ("binance-futures", "bingx")
DEFAULT_ACCOUNT = "default"


class SimVenue:
    def __init__(
        self,
        venue: str = "binance-futures",
        *,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        listen_key_ttl: float = 3600.0,
        max_connection_age: float = 86_400.0,
        step_interval: float = 0.1,
        rate_limit_weight: int = 2400,
        rate_limit_interval_secs: int = 60,
        ping_interval: float | None = None,
        pong_timeout: float | None = None,
        specs: list[SymbolSpec] | None = None,
        balance: Decimal = Decimal("100000"),
        duplicate_trade_every: int = 0,
        legacy_urls: bool = False,
    ) -> None:
        """``ping_interval`` / ``pong_timeout`` default to each venue's own (Binance 180 s / 600 s,
        BingX 5 s / 60 s) when None; ``duplicate_trade_every`` is BingX's duplicate public trade
        quirk (every n-th @trade frame sent twice; 0 off). ``rate_limit_interval_secs`` is the Binance
        dialect's request-weight window (60: the minute; shorter compresses time in tests).
        ``legacy_urls`` (Binance): serve every stream and user data on every websocket route and on
        the unrouted root, as before Binance's 2026 URL split; off, each route serves its category
        only (``adapters.sim.binance.routes``)."""
        if venue not in VENUES:
            raise ValueError(f"venue {venue!r} is not implemented (available: {', '.join(VENUES)})")
        self.venue_name = venue
        self._host = host
        self._port = port
        self._step_interval = step_interval
        self._balance = balance
        self.registry = ConnectionRegistry()
        self.faults = Faults(self.registry)
        self.binance: BinanceVenue | None = None
        self.bingx: BingxVenue | None = None
        self.dialect: BinanceVenue | BingxVenue
        if venue == "bingx":
            self.engine = VenueEngine(
                specs if specs is not None else bingx_specs(),
                seed=seed,
                clock=now_ms,
                order_id_start=ORDER_ID_START,
                algo_id_start=ALGO_ID_START,
            )
            self.faults.attach_engine(self.engine)
            self.bingx = self.dialect = BingxVenue(
                self.engine,
                self.faults,
                self.registry,
                BingxSettings(
                    seed=seed,
                    listen_key_ttl=listen_key_ttl,
                    max_connection_age=max_connection_age,
                    ping_interval=5.0 if ping_interval is None else ping_interval,
                    pong_timeout=60.0 if pong_timeout is None else pong_timeout,
                    duplicate_trade_every=duplicate_trade_every,
                ),
            )
            self.faults.reset_hooks = [self.bingx.limiter.reset]
            self.credentials: Credentials | BingxCredentials = self.bingx.add_account(
                DEFAULT_ACCOUNT, balance=balance
            )
        else:
            self.engine = VenueEngine(
                specs if specs is not None else default_specs(),
                seed=seed,
                clock=now_ms,
                # TRAILING_STOP_MARKET callbackRate up to 20 (change log 2026-10-23; was 10).
                max_callback_rate=Decimal(20),
            )
            self.faults.attach_engine(self.engine)
            self.binance = self.dialect = BinanceVenue(
                self.engine,
                self.faults,
                self.registry,
                BinanceSettings(
                    seed=seed,
                    listen_key_ttl=listen_key_ttl,
                    max_connection_age=max_connection_age,
                    ping_interval=180.0 if ping_interval is None else ping_interval,
                    pong_timeout=600.0 if pong_timeout is None else pong_timeout,
                    rate_limit_weight=rate_limit_weight,
                    rate_limit_interval_secs=rate_limit_interval_secs,
                    legacy_urls=legacy_urls,
                ),
            )
            self.faults.reset_hooks = [self.binance.limiter.reset]
            self.credentials = self.binance.add_account(DEFAULT_ACCOUNT, balance=balance)
        self._runner: web.AppRunner | None = None
        self._step_task: asyncio.Task[None] | None = None
        self.port = 0

    # --- URLs and credentials --------------------------------------------------------------------
    @property
    def rest_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host}:{self.port}"

    @property
    def ws_market_url(self) -> str:
        """BingX: the one websocket endpoint (market data; the user stream adds ?listenKey=)."""
        return f"ws://{self._host}:{self.port}{BINGX_WS_PATH}" if self.bingx is not None else self.ws_url

    @property
    def ws_user_url(self) -> str:
        return self.ws_market_url

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self._host}:{self.port}/ws-fapi/v1"

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    @property
    def api_secret(self) -> str:
        return self.credentials.api_secret

    @property
    def ed25519_api_key(self) -> str:
        assert isinstance(self.credentials, Credentials), "Ed25519 keys exist on the Binance venue only"
        return self.credentials.ed25519_api_key

    @property
    def ed25519_private_key_pem(self) -> str:
        assert isinstance(self.credentials, Credentials), "Ed25519 keys exist on the Binance venue only"
        return self.credentials.ed25519_private_key_pem

    @property
    def account_id(self) -> str:
        return self.credentials.account_id

    def add_account(self, account_id: str, **engine_kwargs: Any) -> Any:
        """Another account with its own keys (for multi-account tests): Binance ``Credentials``
        or BingX ``Credentials`` (api_key, api_secret)."""
        return self.dialect.add_account(account_id, **engine_kwargs)

    def info(self) -> dict[str, str]:
        """What the CLI prints: URLs and the default account's credentials."""
        if self.bingx is not None:
            return {
                "venue": self.venue_name,
                "rest": self.rest_url,
                "ws_market": self.ws_market_url,
                "ws_user": self.ws_user_url,
                "api_key": self.api_key,
                "api_secret": self.api_secret,
            }
        return {
            "venue": self.venue_name,
            "rest": self.rest_url,
            "ws_market": self.ws_url,
            "ws_user": self.ws_url,
            "ws_api": self.ws_api_url,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "ed25519_api_key": self.ed25519_api_key,
            "ed25519_private_key_pem": self.ed25519_private_key_pem,
        }

    def state(self) -> dict[str, Any]:
        return {
            "venue": self.venue_name,
            **self.engine.state(),
            **self.dialect.state(),
            "connections": self.registry.snapshot(),
            "faults": self.faults.snapshot(),
        }

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        app = self.dialect.build_app()
        add_control_routes(app, self.faults, self.state)
        add_storm_route(app, StormDriver(self))
        # Websocket handlers end through registry.close_all() in stop(); the runner's shutdown
        # timeout only bounds stragglers.
        runner = web.AppRunner(
            app,
            handle_signals=False,
            shutdown_timeout=1.0,
            access_log=None,
            logger=_ServerLog(logging.getLogger("aiohttp.server"), {}),
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        await self.dialect.start()
        self._step_task = asyncio.create_task(self._step_loop(), name="sim-market-steps")

    async def stop(self) -> None:
        task, self._step_task = self._step_task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self.faults.late.cancel_all()
        await self.registry.close_all()
        await self.dialect.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SimVenue:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _step_loop(self) -> None:
        while True:
            await asyncio.sleep(self._step_interval)
            try:
                self.engine.step()
            except Exception:
                # A failing step must not stop the market for the rest of the run; it is logged
                # loudly so the engine bug is seen.
                log.exception("engine step failed")
