"""One request budget for every node on an IP, kept in Redis (several nodes per host or per IP).

Binance counts request weight per IP (USD-M: 2400 per minute); BingX counts requests per account (and,
for market endpoints, per IP) and endpoint per second. Nodes that share an IP but each keep their own
limiter can together cross the venue's limit: after a common network blip every node recovers at
once (listen key, open orders 40, open algo orders 40, trades 5 per symbol, account 5...) and the
venue answers 429, then a 418 IP ban. Nodes configured with the same Redis and key prefix take every
request's weight from one budget instead.

Budget model
    A *bucket* is a fixed window aligned to the venue clock, as the venues count (Binance: the
    minute starting at :00; BingX: the second). ``cap = floor(limit * share)``: the share leaves a
    safety margin for traffic the fleet does not see (another program on the IP, requests in flight
    across a window roll). Windows are keyed by their start in venue time (the callers' clocks are
    venue-corrected), so every node agrees which window a request falls into. A request granted in
    the last ``edge_ms`` of a window is charged to the next window too: it may reach the venue after
    the roll.
Venue truth
    :meth:`FleetBudget.observe` raises a window's count to what the venue reported (Binance's
    ``X-MBX-USED-WEIGHT-1M``) when that is higher: weight used by someone outside the fleet is then
    waited for like the fleet's own. A report is only applied when request and response fell into the
    same window (across a roll it is ambiguous which window it describes).
Blocks
    A 429/418 ``Retry-After`` seen by any node (and BingX's ``Remain: 0`` for an endpoint) is stored
    as a block key: every node sharing the budget waits until it passes, without sending.
Fairness: a FIFO queue of waiting requests
    A request that cannot be granted takes a ticket in the bucket's queue (ordered by a Redis
    counter, not by any node's clock) and is told when to come back: the window roll, or as many
    windows later as the weight queued ahead of it needs. A request is granted only if the window
    still holds the weight of every request queued *before* it plus its own, so nobody overtakes a
    waiting request — a node that waits is served within ``ceil(weight ahead / cap)`` windows, whatever
    the other nodes keep asking for — and no weight idles while someone waits (unlike fixed per-node
    reservations, which would also need a membership protocol to know how many nodes share). A ticket
    whose node does not come back in time (died, gave up) is dropped by the next caller.
Waiting
    Bounded and never a busy loop: a waiting caller sleeps until the time the script computed (a
    window roll or the end of a block); once the wait would exceed ``max_wait_secs`` the request is
    not sent (:class:`FleetBudgetExhausted`).
Redis unavailable
    Any Redis error (refused, timed out: commands time out after ``socket_timeout`` seconds) makes the
    node fall back to its local limiter with one WARNING; Redis is retried every ``retry_secs`` and the
    node shares the budget again as soon as it answers. The budget never blocks trading on Redis.

Every operation is one Lua script, executed atomically by Redis (EVALSHA through redis-py, re-loaded
if Redis restarted). The keys of one budget carry a ``{hash tag}`` so they live in one cluster slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

_log = logging.getLogger("adapters.core.fleet_budget")

DEFAULT_KEY_PREFIX: Final = "nautilus-perp:budget"
DEFAULT_SHARE: Final = 0.9
DEFAULT_HOST: Final = "127.0.0.1"  # NautilusTrader's cache database defaults (DatabaseConfig host/port None)
DEFAULT_PORT: Final = 6379


# ------------------------------------------------------------------------------------------ scripts

# KEYS: 1 used (this window)  2 used (next window)  3 queue (zset ticket -> sequence)
#       4 queued weights (hash ticket -> weight)  5 deadlines (zset ticket -> ms)  6 sequence counter
#       7.. block keys (value: blocked until, ms)
# ARGV: 1 now_ms  2 weight  3 cap  4 window_ms  5 ticket  6 roll margin ms  7 edge ms  8 grace ms
# Returns {granted 0/1, wait_ms, used in this window, requests queued ahead, blocked 0/1}
ACQUIRE_LUA: Final = """
local now = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local ticket = ARGV[5]
local margin = tonumber(ARGV[6])
local edge = tonumber(ARGV[7])
local grace = tonumber(ARGV[8])
local blocked = 0
for i = 7, #KEYS do
  local b = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if b > blocked then blocked = b end
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)
for _, t in ipairs(stale) do
  redis.call('ZREM', KEYS[3], t)
  redis.call('ZREM', KEYS[5], t)
  redis.call('HDEL', KEYS[4], t)
end
local mine = redis.call('ZSCORE', KEYS[3], ticket)
local before
if mine then
  before = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. mine)
else
  before = redis.call('ZRANGE', KEYS[3], 0, -1)
end
local ahead = 0
if #before > 0 then
  for _, x in ipairs(redis.call('HMGET', KEYS[4], unpack(before))) do
    ahead = ahead + (tonumber(x) or 0)
  end
end
local used = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local ttl = window * 2 + 1000
if blocked <= now and (w == 0 or used + ahead + w <= cap) then
  used = redis.call('INCRBY', KEYS[1], w)
  redis.call('PEXPIRE', KEYS[1], ttl)
  if edge > 0 and w > 0 and now % window >= window - edge then
    redis.call('INCRBY', KEYS[2], w)
    redis.call('PEXPIRE', KEYS[2], ttl + window)
  end
  if mine then
    redis.call('ZREM', KEYS[3], ticket)
    redis.call('ZREM', KEYS[5], ticket)
    redis.call('HDEL', KEYS[4], ticket)
  end
  return {1, 0, used, #before, 0}
end
local wake
if blocked > now then
  wake = blocked + margin
else
  local roll = now - (now % window) + window
  wake = roll + margin + math.floor((ahead + w - 1) / cap) * window
end
if not mine then
  local seq = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[3], seq, ticket)
  redis.call('HSET', KEYS[4], ticket, w)
end
redis.call('ZADD', KEYS[5], wake + grace, ticket)
local keep = wake - now + grace + ttl
for i = 3, 5 do
  local left = redis.call('PTTL', KEYS[i])
  if left ~= -2 and left < keep then redis.call('PEXPIRE', KEYS[i], keep) end
end
local is_blocked = 0
if blocked > now then is_blocked = 1 end
return {0, wake - now, used, #before, is_blocked}
"""

# KEYS: 1 used (window of the response)   ARGV: 1 used as the venue reported it  2 ttl ms
# Returns the window's count afterwards.
OBSERVE_LUA: Final = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local reported = tonumber(ARGV[1])
if reported > cur then
  redis.call('SET', KEYS[1], reported, 'PX', tonumber(ARGV[2]))
  return reported
end
return cur
"""

# KEYS: 1 block key   ARGV: 1 blocked until ms  2 now ms    Returns the block in force afterwards.
BLOCK_LUA: Final = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local untl = tonumber(ARGV[1])
if untl > cur then
  redis.call('SET', KEYS[1], untl, 'PX', math.max(1, untl - tonumber(ARGV[2]) + 1000))
  return untl
end
return cur
"""

# KEYS: 1 queue  2 queued weights  3 deadlines   ARGV: 1 ticket
RELEASE_LUA: Final = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


# ------------------------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class FleetBudgetSettings:
    """Where the shared budget lives and how much of the venue's limit the fleet may use.

    Hashable (the factories cache one HTTP client per account and settings); the password is kept out
    of ``repr``.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    key_prefix: str = DEFAULT_KEY_PREFIX
    share: float = DEFAULT_SHARE
    limit: int | None = None  # the venue's own limit (exchangeInfo, the endpoint table) when None
    max_wait_secs: float = 65.0

    def __post_init__(self) -> None:
        if not 0.0 < self.share <= 1.0:
            raise ValueError(f"fleet budget share must be in (0, 1], was {self.share}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"fleet budget limit must be >= 1, was {self.limit}")
        if not self.max_wait_secs > 0:
            raise ValueError(f"fleet budget max wait must be > 0, was {self.max_wait_secs}")
        if not self.key_prefix or any(c in self.key_prefix for c in "{} "):
            raise ValueError(
                f"fleet budget key prefix must be non-empty, without braces or spaces: {self.key_prefix!r}"
            )


class _FleetConfig(Protocol):
    @property
    def fleet_budget_redis(self) -> Any: ...
    @property
    def fleet_budget_key_prefix(self) -> str: ...
    @property
    def fleet_budget_share(self) -> float: ...
    @property
    def fleet_budget_max_wait_secs(self) -> float: ...


def settings_from_config(config: _FleetConfig) -> FleetBudgetSettings | None:
    """The budget settings of a client config (None: off, the local limiter alone as for one node).

    ``fleet_budget_redis`` is a NautilusTrader ``DatabaseConfig``: pass the one of the node's cache to
    share that Redis; its host/port left None mean NautilusTrader's defaults (127.0.0.1:6379)."""
    db = config.fleet_budget_redis
    if db is None:
        return None
    return FleetBudgetSettings(
        host=db.host or DEFAULT_HOST,
        port=int(db.port or DEFAULT_PORT),
        username=db.username,
        password=db.password,
        ssl=bool(db.ssl),
        key_prefix=config.fleet_budget_key_prefix,
        share=config.fleet_budget_share,
        limit=getattr(config, "fleet_budget_limit", None),
        max_wait_secs=config.fleet_budget_max_wait_secs,
    )


@dataclass(frozen=True, slots=True)
class Grant:
    """Weight taken from a bucket's window (what :meth:`FleetBudget.observe` relates a report to)."""

    bucket: str
    window_ms: int
    window_start_ms: int
    used_after: int  # the window's count right after this grant


class FleetBudgetExhausted(Exception):
    """The budget would make this request wait longer than ``max_wait_secs``: it is not sent."""

    def __init__(self, wait_secs: float, reason: str) -> None:
        super().__init__(f"{reason}; next weight in {wait_secs:.1f}s")
        self.wait_secs = wait_secs
        self.reason = reason


@dataclass(slots=True)
class FleetBudgetMetrics:
    grants: int = 0  # requests that got their weight from the shared budget
    waits: int = 0  # of those (or exhausted), how many had to wait at least once
    waited_secs: float = 0.0  # total time spent waiting for weight
    max_wait_secs: float = 0.0  # longest single request's wait
    exhausted: int = 0  # requests not sent: the wait would have exceeded max_wait_secs
    header_raises: int = 0  # the venue reported more weight used than the budget knew
    blocks: int = 0  # Retry-After / endpoint exhaustion shared with the fleet
    fallbacks: int = 0  # requests decided by the local limiter alone (Redis unavailable)
    outages: int = 0  # times Redis became unavailable


REDIS_ERRORS: tuple[type[BaseException], ...]
try:  # the errors that mean "Redis is not usable now" (never a reason to fail a trade)
    from redis.exceptions import RedisError as _RedisError

    REDIS_ERRORS = (_RedisError, OSError, asyncio.TimeoutError, EOFError)
except ImportError:  # pragma: no cover - redis is a dependency
    REDIS_ERRORS = (OSError, asyncio.TimeoutError, EOFError)


def default_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def account_scope(api_key: str | None) -> str:
    """A stable, non-secret name for an account's buckets (a hash of its API key; ``ip`` without key)."""
    if not api_key:
        return "ip"
    return "acct-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def _make_redis(settings: FleetBudgetSettings, timeout: float) -> Any:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis(
        host=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        ssl=settings.ssl,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # One attempt per command: a Redis that does not answer must cost one timeout, not a retry
        # series, before this node falls back to its local limiter.
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


# ------------------------------------------------------------------------------------------ budget


class FleetBudget:
    """The shared budget of one venue host (``scope``, e.g. ``binance:fapi.binance.com``)."""

    def __init__(
        self,
        settings: FleetBudgetSettings,
        scope: str,
        *,
        node_id: str | None = None,
        logger: logging.Logger | None = None,
        redis: Any = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry_secs: float = 5.0,
        socket_timeout: float = 0.5,
        roll_margin_ms: int = 50,
        edge_ms: int = 200,
        grace_ms: int = 3000,
    ) -> None:
        self.settings = settings
        self.scope = scope
        self.node_id = node_id or default_node_id()
        self._log = logger or _log
        self._redis = redis
        self._owns_redis = redis is None
        self._sleep = sleep
        self._clock = clock
        self.retry_secs = retry_secs
        self.socket_timeout = socket_timeout
        self.roll_margin_ms = roll_margin_ms
        self.edge_ms = edge_ms
        self.grace_ms = grace_ms
        self.metrics = FleetBudgetMetrics()
        self._tickets = itertools.count(1)
        self._scripts: dict[str, Any] = {}
        self._down_until: float | None = None  # monotonic; None = Redis considered usable
        self._background: set[asyncio.Task[Any]] = set()
        self._base = f"{settings.key_prefix}:{{{scope}}}"

    def __repr__(self) -> str:
        s = self.settings
        return f"FleetBudget(redis={s.host}:{s.port}, scope={self.scope!r}, node={self.node_id!r})"

    # -- keys ---------------------------------------------------------------------------------------

    @property
    def global_block_key(self) -> str:
        """Blocks every bucket of this budget (a 429/418 ``Retry-After``: the venue blocks the IP)."""
        return f"{self._base}:block"

    def block_key(self, bucket: str) -> str:
        return f"{self._base}:{bucket}:block"

    def used_key(self, bucket: str, window_ms: int, window_start_ms: int) -> str:
        return f"{self._base}:{bucket}:u{window_ms}:{window_start_ms}"

    def _queue_keys(self, bucket: str) -> list[str]:
        b = f"{self._base}:{bucket}"
        return [f"{b}:q", f"{b}:qw", f"{b}:qd", f"{b}:seq"]

    def cap(self, venue_limit: int) -> int:
        """The fleet's weight per window: the configured limit (else the venue's) times the share."""
        limit = self.settings.limit or venue_limit
        return max(1, math.floor(limit * self.settings.share))

    # -- redis --------------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while this node is on its local limiter (Redis failed; retried after ``retry_secs``)."""
        return self._down_until is None

    def _client(self) -> Any:
        if self._redis is None:
            self._redis = _make_redis(self.settings, self.socket_timeout)
            self._scripts = {}
        return self._redis

    def _script(self, name: str, source: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._client().register_script(source)
            self._scripts[name] = script
        return script

    def _usable(self) -> bool:
        return self._down_until is None or self._clock() >= self._down_until

    async def _run(self, name: str, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        result = await self._script(name, source)(keys=list(keys), args=list(args))
        self._mark_up()
        return result

    def _mark_down(self, exc: BaseException) -> None:
        if self._down_until is None:
            self.metrics.outages += 1
            s = self.settings
            self._log.warning(
                f"Fleet budget: Redis at {s.host}:{s.port} is unavailable ({type(exc).__name__}: {exc}); "
                f"this node falls back to its local rate limiter and retries Redis every {self.retry_secs:g}s"
            )
        else:
            self._log.debug(f"Fleet budget: Redis still unavailable ({type(exc).__name__})")
        self._down_until = self._clock() + self.retry_secs

    def _mark_up(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            s = self.settings
            self._log.info(f"Fleet budget: Redis at {s.host}:{s.port} is back; sharing the budget again")

    # -- operations ---------------------------------------------------------------------------------

    async def acquire(
        self,
        bucket: str,
        weight: int,
        venue_limit: int,
        window_ms: int,
        now_ms: Callable[[], int],
        blocks: Sequence[str] = (),
    ) -> Grant | None:
        """Take ``weight`` from ``bucket`` (windows of ``window_ms``), waiting while the fleet's window
        is spent or a block is in force. Returns the grant, or None when Redis is unavailable (the
        caller's local limiter alone decides). Raises :class:`FleetBudgetExhausted` rather than wait
        longer than ``max_wait_secs``."""
        if not self._usable():
            self.metrics.fallbacks += 1
            return None
        cap = self.cap(venue_limit)
        w = min(max(0, int(weight)), cap)
        ticket = f"{self.node_id}:{next(self._tickets)}"
        block_keys = [self.global_block_key, *blocks]
        queue = self._queue_keys(bucket)
        waited = 0.0
        queued = False
        try:
            while True:
                now = now_ms()
                start = now - now % window_ms
                keys = [
                    self.used_key(bucket, window_ms, start),
                    self.used_key(bucket, window_ms, start + window_ms),
                    *queue,
                    *block_keys,
                ]
                args = [now, w, cap, window_ms, ticket, self.roll_margin_ms, self.edge_ms, self.grace_ms]
                try:
                    granted, wait_ms, used, _ahead, blocked = await self._run(
                        "acquire", ACQUIRE_LUA, keys, args
                    )
                except REDIS_ERRORS as exc:
                    self._mark_down(exc)
                    self.metrics.fallbacks += 1
                    return None
                if int(granted):
                    queued = False
                    self._count_grant(waited)
                    return Grant(bucket, window_ms, start, int(used))
                queued = True
                wait = max(0.001, int(wait_ms) / 1000.0)
                left = self.settings.max_wait_secs - waited
                # A block's end is known: past the bound, give up at once. A queue estimate assumes
                # every request ahead comes back for its weight; wait what the bound allows and ask
                # again (tickets of nodes that do not come back expire meanwhile).
                if left <= 0.001 or (int(blocked) and wait > left):
                    self.metrics.exhausted += 1
                    self._count_wait(waited)
                    limit = self.settings.max_wait_secs
                    raise FleetBudgetExhausted(
                        wait, f"{bucket}: no weight within {limit:g}s (used {used}/{cap})"
                    )
                wait = min(wait, left)
                await self._sleep(wait)
                waited += wait
        finally:
            if queued:  # gave up or cancelled: leave the queue so nobody waits behind a ghost
                self._release_later(queue[:3], ticket)

    def _count_grant(self, waited: float) -> None:
        self.metrics.grants += 1
        self._count_wait(waited)

    def _count_wait(self, waited: float) -> None:
        if waited > 0:
            m = self.metrics
            m.waits += 1
            m.waited_secs += waited
            m.max_wait_secs = max(m.max_wait_secs, waited)

    def _release_later(self, keys: list[str], ticket: str) -> None:
        async def release() -> None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self._run("release", RELEASE_LUA, keys, [ticket])

        try:
            task = asyncio.get_running_loop().create_task(release(), name="fleet-budget-release")
        except RuntimeError:  # no loop (interpreter shutdown): the ticket's deadline drops it
            return
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def observe(self, grant: Grant, reported_used: int, now_ms: int) -> None:
        """The venue reported ``reported_used`` for the window ``grant`` was taken from: raise the
        fleet's count to it when higher (the venue is the truth). Skipped across a window roll."""
        if reported_used <= grant.used_after or not self._usable():
            return
        if now_ms - now_ms % grant.window_ms != grant.window_start_ms:
            return
        key = self.used_key(grant.bucket, grant.window_ms, grant.window_start_ms)
        try:
            before = grant.used_after
            ttl = grant.window_ms * 2 + 1000
            after = await self._run("observe", OBSERVE_LUA, [key], [reported_used, ttl])
        except REDIS_ERRORS as exc:
            self._mark_down(exc)
            return
        if int(after) == reported_used and reported_used > before:
            self.metrics.header_raises += 1

    async def block(self, key: str, until_ms: int, now_ms: int) -> None:
        """Block every node sharing the budget (for ``key``: the global block or a bucket's) until
        ``until_ms`` (venue time)."""
        if until_ms <= now_ms or not self._usable():
            return
        try:
            await self._run("block", BLOCK_LUA, [key], [until_ms, now_ms])
        except REDIS_ERRORS as exc:
            self._mark_down(exc)
            return
        self.metrics.blocks += 1

    async def blocked_until_ms(self, key: str | None = None) -> int:
        """The block in force for ``key`` (default: the global one); 0 when none. For diagnostics."""
        try:
            value = await self._client().get(key or self.global_block_key)
        except REDIS_ERRORS as exc:
            self._mark_down(exc)
            return 0
        return int(value or 0)

    async def used(self, bucket: str, window_ms: int, now_ms: int) -> int:
        """The fleet's count in the window containing ``now_ms`` (diagnostics and tests)."""
        try:
            value = await self._client().get(self.used_key(bucket, window_ms, now_ms - now_ms % window_ms))
        except REDIS_ERRORS as exc:
            self._mark_down(exc)
            return 0
        return int(value or 0)

    async def close(self) -> None:
        """Release the connection (a later request reconnects lazily)."""
        for task in list(self._background):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, timeout=self.socket_timeout)
        redis, self._redis = self._redis, None
        self._scripts = {}
        if redis is not None and self._owns_redis:
            with contextlib.suppress(*REDIS_ERRORS):
                await redis.aclose()
