"""A consistent start: the user stream is held while NautilusTrader reconciles, then the node is made
to agree with the venue, exactly once.

NautilusTrader starts its execution clients, then asks them for reports (orders, fills, positions)
and reconciles its cache (restored from Redis after a restart) with them, then starts the trader.
Two things go wrong when the user stream already dispatches during that reconciliation:

* a fill applied live makes the position report, fetched a moment earlier, stale by the time the
  engine compares it: the engine then "corrects" a correct position with an inferred fill
  (``INTERNAL-DIFF``) — a phantom fill;
* the engine applies no fill report for an order whose status report says it is still open with
  nothing filled (it was fetched a moment before the fill): had the client marked those fills as
  delivered, the live event for the same trade would be dropped as a duplicate — a lost fill.

The design chosen (see docs/architecture.md): **hold, then sync**. On connect the user stream is
connected but held (events queue; nothing is dispatched, no recovery runs, no REST poll applies
anything). When the trader starts — NautilusTrader's reconciliation has been applied by then —
:class:`StartupRelease`:

1. tracks every open or in-flight order of this venue the cache holds (fills already in the engine
   are marked delivered from the cache itself, not from the reports);
2. releases the stream: the queued events are applied in order, de-duplicated;
3. runs a gap sync (the recovery's snapshot and backfill): every tracked order's filled quantity is
   compared with the venue's, and what the engine's reconciliation did not apply is emitted as
   events, once;
4. resolves orders that were in flight when the previous process died (submitted, no answer) by
   querying the venue.

A fallback timer releases the stream if the trader never starts (reconciliation failed or is off
and the kernel never starts the trader): the node's fills must not wait forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nautilus_trader.common.enums import ComponentState
from nautilus_trader.common.messages import ComponentStateChanged

from adapters.core.base.tasks import OwnedTasks
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.userstream.user_stream import UserStreamService

_TRADER_STARTED = frozenset({ComponentState.STARTING, ComponentState.RUNNING})


class StartupRelease:
    def __init__(
        self,
        *,
        msgbus: object,
        trader_id: str,
        user_stream: UserStreamService | None,
        adopt_open_orders: Callable[[], list[TrackedOrder]],
        resolve_in_flight: Callable[[TrackedOrder], None],
        tasks: OwnedTasks,
        timeout_secs: float,
        logger: logging.Logger,
    ) -> None:
        self._msgbus = msgbus
        self._topic = f"events.system.{trader_id}"
        self._user_stream = user_stream
        self._adopt_open_orders = adopt_open_orders
        self._resolve_in_flight = resolve_in_flight
        self._tasks = tasks
        self._timeout = timeout_secs
        self._log = logger
        self._subscribed = False
        self._released = False
        self._fallback_task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()  # set once the startup sync has completed
        self.reason: str | None = None
        self.adopted = 0
        self.in_flight = 0

    def arm(self) -> None:
        """Wait for the trader to start (NautilusTrader's reconciliation applied), or the timeout."""
        subscribe = getattr(self._msgbus, "subscribe")  # noqa: B009 - a Cython method
        subscribe(topic=self._topic, handler=self._on_trader_state)
        self._subscribed = True
        self._fallback_task = self._tasks.spawn(self._fallback(), "startup-fallback")

    def close(self) -> None:
        if self._subscribed:
            self._subscribed = False
            unsubscribe = getattr(self._msgbus, "unsubscribe")  # noqa: B009
            unsubscribe(topic=self._topic, handler=self._on_trader_state)

    def _on_trader_state(self, event: ComponentStateChanged) -> None:
        if event.state in _TRADER_STARTED:
            self.release("the trader started (startup reconciliation applied)")

    async def _fallback(self) -> None:
        await asyncio.sleep(self._timeout)
        if not self._released:
            self._log.warning(
                "the trader did not start within %.0fs; releasing the user stream anyway", self._timeout
            )
            self.release("startup hold timed out")

    def release(self, reason: str) -> None:
        """Idempotent: the first call releases, later ones do nothing."""
        if self._released:
            return
        self._released = True
        self.reason = reason
        self.close()
        fallback, self._fallback_task = self._fallback_task, None
        if fallback is not None and fallback is not asyncio.current_task():
            fallback.cancel()
        self._tasks.spawn(self._sync(reason), "startup-sync")

    async def _sync(self, reason: str) -> None:
        adopted = self._adopt_open_orders()
        self.adopted = len(adopted)
        stream = self._user_stream
        if stream is not None:
            stream.release()
            self._log.info("user stream released (%s); %d open order(s) tracked", reason, self.adopted)
            await stream.resync("startup reconciliation")
        for order in adopted:
            if not order.accepted and order.terminal is None:
                # Submitted before the previous process died, no answer since: the venue says.
                self.in_flight += 1
                self._resolve_in_flight(order)
        self.done.set()
