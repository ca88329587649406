"""What the chaos runner observes, as opposed to what it planned.

:class:`PhaseProbe` wraps the recovery ctx's venue so a fault can be armed at an exact phase of a
recovery (before the snapshot, right after the new socket connected, right after a run) and so the
runner can tell afterwards which phase a fault actually hit. :func:`gap_workload` reads two venue
ground truths (``sim.state()`` before a fault and after its recovery) and says which adversarial
workload kinds really happened inside that gap - counted from the venue's state, never from the plan.

Both are test instrumentation: they observe and arm faults, they never change what the node does.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.core.userstream.recovery import RecoveryCtx, RunTiming, SnapshotOutcome

Hook = Callable[[], None]

# Venue order statuses in which an order can still fill.
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
FINAL_STATUSES = ("FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED")
# An algo order that left NEW by triggering (not by a cancel or an expiry).
ALGO_TRIGGERED = ("TRIGGERING", "TRIGGERED", "FINISHED")
# Orders the runner places on the venue behind the node's back carry this client id prefix.
EXTERNAL_PREFIX = "ext-"
# A BingX modify is a cancel-replace: link n of order <cid> is <cid>-r<n>.
_REPLACE_LINK = re.compile(r"-r\d+$")


@dataclass
class PhaseRecord:
    """One recovery attempt as the probe saw it."""

    snapshot_failed: list[str] = field(default_factory=list)  # failed snapshot queries (or the error)
    snapshot_secs: float = 0.0
    connected: bool = False
    post_failed: list[str] = field(default_factory=list)  # failed backfill queries after the connect
    # Frames the old dispatcher handled after the new socket connected: through the backfill, the
    # swap and the drain, while the new socket's frames waited in its queue.
    drained_frames: int = 0
    completed: bool = False


class PhaseProbe:
    """A transparent proxy for ``ctx.venue`` (install with :meth:`install`).

    One-shot hooks: ``before_snapshot`` run as a snapshot starts, ``after_snapshot`` once it returned
    (before the new socket is connected), ``after_connect`` as soon as the new socket of an attempt
    is connected (before the backfill), ``after_run`` when a run completed (from ``ctx.on_run``).
    Every attempt leaves a :class:`PhaseRecord` in ``attempts``.
    """

    def __init__(self, ctx: RecoveryCtx, on_run: Callable[[RunTiming], None] | None = None) -> None:
        self._ctx = ctx
        self._venue = ctx.venue
        self._on_run = on_run
        self.before_snapshot: list[Hook] = []
        self.after_snapshot: list[Hook] = []
        self.after_connect: list[Hook] = []
        self.after_run: list[Hook] = []
        self.attempts: list[PhaseRecord] = []
        self._drain_mark: tuple[Any, int] | None = None

    def install(self) -> PhaseProbe:
        self._ctx.venue = self  # type: ignore[assignment]
        self._ctx.on_run = self._run_done
        return self

    def __getattr__(self, name: str) -> Any:
        # Everything not observed here (handle_frame, retire_listen_key, ...) is the venue's own.
        return getattr(self._venue, name)

    @property
    def current(self) -> PhaseRecord:
        if not self.attempts:
            self.attempts.append(PhaseRecord())
        return self.attempts[-1]

    @staticmethod
    def _fire(hooks: list[Hook]) -> None:
        while hooks:
            hooks.pop(0)()

    async def create_listen_key(self) -> str:
        self.attempts.append(PhaseRecord())
        key: str = await self._venue.create_listen_key()
        return key

    async def snapshot(self) -> SnapshotOutcome:
        record = self.current
        self._fire(self.before_snapshot)
        started = time.monotonic()
        try:
            outcome: SnapshotOutcome = await self._venue.snapshot()
        except Exception as exc:
            record.snapshot_failed.append(repr(exc))
            raise
        finally:
            record.snapshot_secs = time.monotonic() - started
        record.snapshot_failed += [q.name for q in outcome.queries if not q.ok]
        self._fire(self.after_snapshot)
        return outcome

    async def connect_stream(self, listen_key: str) -> Any:
        stream = await self._venue.connect_stream(listen_key)
        self.current.connected = True
        # From here the new socket queues (does not dispatch) while the old dispatcher still runs,
        # through the backfill, the swap and the drain: what it handles meanwhile is counted.
        old = self._ctx.dispatcher
        self._drain_mark = (old, old.metrics.frames) if old is not None else None
        self._fire(self.after_connect)
        return stream

    async def post_snapshot(self) -> SnapshotOutcome:
        record = self.current
        try:
            outcome: SnapshotOutcome = await self._venue.post_snapshot()
        except Exception as exc:
            record.post_failed.append(repr(exc))
            raise
        record.post_failed += [q.name for q in outcome.queries if not q.ok]
        return outcome

    def _run_done(self, timing: RunTiming) -> None:
        record = self.current
        record.completed = True
        if self._drain_mark is not None:
            old, frames = self._drain_mark
            record.drained_frames = old.metrics.frames - frames
            self._drain_mark = None
        if self._on_run is not None:
            self._on_run(timing)
        self._fire(self.after_run)


# ------------------------------------------------------------------------------------------------
# What happened inside one gap, from the venue's ground truth
# ------------------------------------------------------------------------------------------------
def _orders(state: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {o["order_id"]: o for o in state["orders"]}


def _is_external(order: dict[str, Any]) -> bool:
    return str(order["client_order_id"]).lower().startswith(EXTERNAL_PREFIX)


def partially_filled_open(order: dict[str, Any]) -> bool:
    return order["status"] in OPEN_STATUSES and 0 < Decimal(order["executed_qty"]) < Decimal(order["qty"])


def gap_workload(before: dict[str, Any], after: dict[str, Any], *, bingx: bool) -> Counter[str]:
    """The adversarial workload kinds that happened on the venue between ``before`` and ``after``
    (two ``sim.state()``), each counted once per occurrence. Callers pass states that bound one
    user-stream gap (the fault fired after ``before``; ``after`` is taken once it recovered)."""
    fired: Counter[str] = Counter()
    old = _orders(before)
    new = _orders(after)
    touched: dict[str, set[int]] = {}
    partial_open = closed = 0
    for order_id, o in new.items():
        b = old.get(order_id)
        grew = Decimal(o["executed_qty"]) > Decimal(b["executed_qty"] if b is not None else "0")
        changed = (
            b is None
            or grew
            or b["status"] != o["status"]
            or b["price"] != o["price"]
            or b["qty"] != o["qty"]
        )
        if changed:
            touched.setdefault(o["symbol"], set()).add(order_id)
        # A fill inside the gap that left the order open: only the filled-quantity reconciliation
        # can tell the node (no closed-order query covers it).
        if grew and partially_filled_open(o):
            partial_open += 1
        # Closed by the gap (a new order the venue refused at once is not).
        was_open = (b is not None and b["status"] in OPEN_STATUSES) or (b is None and grew)
        if was_open and o["status"] in FINAL_STATUSES:
            closed += 1
        if _is_external(o) and grew:
            fired["external_order_filled"] += 1
        if (
            b is not None
            and b["status"] in OPEN_STATUSES
            and o["status"] == "CANCELED"
            and not _is_external(o)
        ):
            fired["cancel_in_gap"] += 1
        if (
            not bingx
            and b is not None
            and o["status"] in OPEN_STATUSES
            and (b["price"] != o["price"] or b["qty"] != o["qty"])
        ):
            fired["modify_in_gap"] += 1
        if bingx and b is None and _REPLACE_LINK.search(str(o["client_order_id"])):
            fired["modify_in_gap"] += 1  # the replacement link of a cancel-replace
    fired["partial_fill_open_across_gap"] += partial_open
    if partial_open and closed >= 1 and closed + partial_open >= 2:
        fired["partial_and_close_in_one_gap"] += 1
    if sum(1 for ids in touched.values() if len(ids) >= 2) >= 2:
        fired["several_orders_several_symbols"] += 1
    old_algos = {a["algo_id"]: a for a in before.get("algo_orders", [])}
    for a in after.get("algo_orders", []):
        b = old_algos.get(a["algo_id"])
        if b is not None and b["status"] == "NEW" and a["status"] in ALGO_TRIGGERED:
            fired["algo_triggered_in_gap"] += 1
    return +fired


def hedge_both_sides(state: dict[str, Any]) -> bool:
    """Whether some symbol holds a LONG and a SHORT position at once (hedge mode)."""
    sides: dict[str, set[str]] = {}
    for account in state.get("accounts", {}).values():
        for p in account.get("positions", []):
            if Decimal(p["amount"]) != 0 and p["position_side"] in ("LONG", "SHORT"):
                sides.setdefault(p["symbol"], set()).add(p["position_side"])
    return any(len(s) == 2 for s in sides.values())
