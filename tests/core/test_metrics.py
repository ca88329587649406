"""The Prometheus exporter (core.client.metrics) and the user stream's health it reads, without a node.

* ``UserStreamService.health``: connected -> recovering (trigger) -> down (an attempt failed) -> connected
  (a run succeeded), with the times each state was entered, and stopped;
* the exporter: every metric family is exposed with a prefix, HELP and unit-named, a scrape reads the
  objects at scrape time, counters summed over objects that go away stay monotonic, an HTTP client shared
  by two clients is reported once, a failing section is counted not fatal, a disposed client disappears,
  a re-registered one replaces the old;
* the endpoint: one server per address, a port that cannot be bound fails loudly;
* docs/operations.md documents every metric.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.core.base.rate_window import FixedWindow
from adapters.core.client import metrics
from adapters.core.client.metrics import METRICS, PREFIX, DataClientMetrics, ExecClientMetrics
from adapters.core.userstream.recovery import RecoveryOptions
from adapters.core.userstream.user_stream import StreamState, UserStreamService
from tests.core.fakes import NONE_OK, ManualSleep, RecordingSleep, ScriptedVenue

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2.0


# ------------------------------------------------------------------ user stream health


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeyOps:
    def __init__(self) -> None:
        self.kept: list[str] = []

    async def keepalive(self, key: str) -> None:
        self.kept.append(key)

    async def delete(self, key: str) -> None:
        pass


async def _until(condition: Any) -> None:
    """Poll a plain attribute (nothing to wait on) until it holds, bounded."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.001)


async def test_health_follows_trigger_failure_and_success() -> None:
    venue, clock, sleep = ScriptedVenue(), Clock(), ManualSleep()
    service = UserStreamService(venue, KeyOps(), options=RecoveryOptions(retry_initial=1.0))
    service.ctx.clock = clock
    service.ctx.sleep = sleep
    assert service.health().state is StreamState.STOPPED

    await service.start()
    h = service.health()
    assert (h.state, h.since, h.not_connected_since) == (StreamState.CONNECTED, 1000.0, None)

    venue.create_gate = asyncio.Event()  # the attempt waits inside create_listen_key
    venue.create_entered.clear()
    clock.now = 1010.0
    service.trigger.fire("stream ended: aborted code=1006")
    await asyncio.wait_for(venue.create_entered.wait(), TIMEOUT)
    h = service.health()
    assert (h.state, h.since, h.not_connected_since) == (StreamState.RECOVERING, 1010.0, 1010.0)

    venue.snapshots = [NONE_OK]  # every snapshot query fails: the attempt fails
    clock.now = 1012.0
    venue.create_gate.set()
    wake = await sleep.sleeping()  # backoff sleep after the failure
    h = service.health()
    assert (h.state, h.since, h.not_connected_since) == (StreamState.DOWN, 1012.0, 1010.0)
    assert service.ctx.metrics.failures == 1

    clock.now = 1020.0  # a later failure keeps the state's start
    h = service.health()
    assert (h.state, h.since) == (StreamState.DOWN, 1012.0)

    wake.set_result(None)  # the retry succeeds
    await _until(lambda: service.ctx.metrics.runs == 1)
    h = service.health()
    assert (h.state, h.since, h.not_connected_since) == (StreamState.CONNECTED, 1020.0, None)
    assert service.ctx.metrics.failing_since is None

    clock.now = 1030.0
    await service.stop()
    h = service.health()
    assert (h.state, h.since, h.not_connected_since) == (StreamState.STOPPED, 1030.0, None)


async def test_trigger_during_a_run_is_recovering_again_after_it() -> None:
    venue, clock = ScriptedVenue(), Clock()
    service = UserStreamService(venue, KeyOps())
    service.ctx.clock = clock
    service.ctx.sleep = RecordingSleep()  # the second run is paced (the first one's stream is young)
    await service.start()
    venue.create_gate = asyncio.Event()
    venue.create_entered.clear()
    service.trigger.fire("first")
    await asyncio.wait_for(venue.create_entered.wait(), TIMEOUT)
    service.trigger.fire("during the run")  # cannot know whether this run covers it: one more run
    clock.now = 1005.0
    venue.create_entered.clear()
    venue.create_gate.set()
    venue.create_gate = asyncio.Event()
    await asyncio.wait_for(venue.create_entered.wait(), TIMEOUT)  # the second run started
    assert service.ctx.metrics.runs == 1
    h = service.health()
    assert (h.state, h.since) == (StreamState.RECOVERING, 1005.0)
    clock.now = 1007.0
    venue.create_gate.set()
    await _until(lambda: service.ctx.metrics.runs == 2)
    h = service.health()
    assert (h.state, h.since) == (StreamState.CONNECTED, 1007.0)
    await service.stop()


# ------------------------------------------------------------------ the exporter


class FakeId:
    def __init__(self, value: str) -> None:
        self.value = value


class FakeWs:
    """Stands in for a WsConnection where only its metrics are read (market sockets)."""

    def __init__(self, reconnects: int = 0) -> None:
        self.is_open = True
        self.metrics = type(
            "M", (), {"reconnects": reconnects, "last_frame_at": None, "last_pong_rtt": None}
        )()


class FakeLimiter:
    def __init__(self) -> None:
        self.weight = FixedWindow(2400, 60_000)
        self.orders_10s = FixedWindow(300, 10_000)
        self.orders_1m = FixedWindow(1200, 60_000)
        self.blocked_until_ms = 0


class FakeHttp:
    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.rate_limiter = FakeLimiter()
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now


class FakeExecClient:
    """The attributes the exporter reads from an execution client, with a real UserStreamService."""

    def __init__(self, client_id: str) -> None:
        self.id = FakeId(client_id)
        self.trader_id = FakeId("TRADER-T")
        self.venue = FakeId("VENUE")
        self.is_connected = True
        self.is_disposed = False
        self.user_stream = UserStreamService(ScriptedVenue(), KeyOps())
        self.stream_ops = type("Ops", (), {"connections": 1})()
        self.facts = type(
            "Facts",
            (),
            {"duplicates_dropped": 0, "overfills": 0, "fills_by_source": collections.Counter()},
        )()
        self.repairs = type("Repairs", (), {"requested": 0, "repaired": 0, "active": 0})()
        self.resolutions: collections.Counter[str] = collections.Counter()
        self.stream_handler = type("H", (), {"frames": 0, "malformed": 0, "errors": 0, "rejected": 0})()


class FakeBookSync:
    def __init__(self, gaps: int, synced: bool = True) -> None:
        self.is_synced = synced
        self.conversion_failures = 0
        self.metrics = type(
            "S",
            (),
            {"gaps_detected": gaps, "resyncs": gaps, "snapshots_rejected": 0, "buffer_overflows": 0},
        )()


class FakeDataClient:
    def __init__(self, client_id: str) -> None:
        self.id = FakeId(client_id)
        self.trader_id = FakeId("TRADER-T")
        self.venue = FakeId("VENUE")
        self.is_connected = True
        self.is_disposed = False
        conn = type("Conn", (), {"ws": FakeWs(reconnects=2), "frame_errors": 1})()
        self.pool = type(
            "Pool", (), {"connections": [conn], "streams": frozenset({"a"}), "dispatcher_restarts": 0}
        )()
        self.books: dict[str, Any] = {"A": type("B", (), {"sync": FakeBookSync(3)})()}
        self.metrics = type("DM", (), {"events": 5})()


def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry()).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_every_metric_is_prefixed_described_and_unit_named() -> None:
    names = [spec.name for spec in METRICS]
    assert len(names) == len(set(names))
    for spec in METRICS:
        assert spec.name.startswith(PREFIX), spec.name
        assert len(spec.help) > 40 and spec.help.endswith("."), spec.name
        assert spec.name.endswith("_total") == (spec.kind == "counter"), spec.name
        assert not set(spec.labels) & set(metrics.BASE_LABELS), spec.name
    # Durations are seconds and say so; ratios say so.
    assert all(n.endswith(("_seconds", "_ratio")) or "seconds" not in n for n in names)


def test_empty_registry_exposes_every_family_with_help() -> None:
    text = generate_latest(metrics.registry()).decode()
    for spec in METRICS:
        assert f"# HELP {spec.name} " in text, spec.name
        assert f"# TYPE {spec.name} {spec.kind}" in text, spec.name


async def test_exec_source_is_read_at_scrape_time() -> None:
    client = FakeExecClient("EXEC-A")
    http = FakeHttp()
    http.rate_limiter.weight.record(600, http.now_ms())
    metrics.register(ExecClientMetrics(client, http))  # type: ignore[arg-type]
    await client.user_stream.start()
    try:
        base = {"client_id": "EXEC-A", "trader_id": "TRADER-T", "venue": "VENUE"}
        s = scrape()
        assert value(s, "perp_adapter_user_stream_state", **base, state="connected") == 1
        assert value(s, "perp_adapter_user_stream_state", **base, state="down") == 0
        assert value(s, "perp_adapter_rest_weight_used", **base, bucket="request_weight") == 600
        assert value(s, "perp_adapter_rest_weight_remaining", **base, bucket="request_weight") == 1800
        assert value(s, "perp_adapter_rest_weight_used_ratio", **base, bucket="request_weight") == 0.25
        assert value(s, "perp_adapter_fills_total", **base, source="rest") == 0

        # Nothing is pushed: the next scrape reads the objects as they are now.
        client.facts.fills_by_source["rest"] += 2
        client.stream_handler.rejected = 1
        client.resolutions["submit"] += 3
        client.user_stream.ctx.metrics.runs = 4
        s = scrape()
        assert value(s, "perp_adapter_fills_total", **base, source="rest") == 2
        assert value(s, "perp_adapter_user_frames_dropped_total", **base, reason="rejected") == 1
        assert value(s, "perp_adapter_ambiguous_resolutions_total", **base, command="submit") == 3
        assert value(s, "perp_adapter_user_stream_recoveries_total", **base) == 4
    finally:
        await client.user_stream.stop()
        client.is_disposed = True
    assert not any(dict(ls).get("client_id") == "EXEC-A" for _, ls in scrape())  # disposed: gone


def test_shared_http_client_is_reported_once_and_errors_are_counted() -> None:
    http = FakeHttp()
    exec_client, data_client = FakeExecClient("SHARED"), FakeDataClient("SHARED")
    exec_client.stream_handler = None  # type: ignore[assignment]  # reading it fails
    metrics.register(ExecClientMetrics(exec_client, http, user_stream=False))  # type: ignore[arg-type]
    metrics.register(DataClientMetrics(data_client, http))  # type: ignore[arg-type]
    try:
        s = scrape()
        weight = [
            ls
            for (n, ls), _ in s.items()
            if n == "perp_adapter_rest_weight_limit" and ("client_id", "SHARED") in ls
        ]
        assert len(weight) == 3  # request weight, orders 10s, orders 1m: once, not per client
        errors = value(s, "perp_adapter_metrics_collect_errors_total", client_id="SHARED", section="frames")
        assert errors == 1
        assert (
            value(s, "perp_adapter_fills_total", client_id="SHARED", source="stream") == 0
        )  # others still read
        assert not any(
            n.startswith("perp_adapter_user_stream_") and ("client_id", "SHARED") in ls for n, ls in s
        )
        assert value(s, "perp_adapter_market_events_total", client_id="SHARED") == 5
    finally:
        exec_client.is_disposed = data_client.is_disposed = True
        scrape()


def test_counters_over_objects_that_go_away_stay_monotonic() -> None:
    client = FakeDataClient("DATA-M")
    metrics.register(DataClientMetrics(client, None))  # type: ignore[arg-type]
    try:
        base = {"client_id": "DATA-M"}
        s = scrape()
        assert value(s, "perp_adapter_book_gaps_total", **base) == 3
        assert value(s, "perp_adapter_ws_reconnects_total", **base, socket="market") == 2
        assert value(s, "perp_adapter_market_frame_errors_total", **base) == 1
        client.books["B"] = type("B", (), {"sync": FakeBookSync(1, synced=False)})()
        s = scrape()
        assert value(s, "perp_adapter_book_gaps_total", **base) == 4
        assert value(s, "perp_adapter_books_unsynced", **base) == 1
        del client.books["A"]  # unsubscribed: its gaps stay counted
        client.pool.connections = []  # type: ignore[attr-defined]  # its socket closed
        s = scrape()
        assert value(s, "perp_adapter_book_gaps_total", **base) == 4
        assert value(s, "perp_adapter_books", **base) == 1
        assert value(s, "perp_adapter_ws_reconnects_total", **base, socket="market") == 2
        assert value(s, "perp_adapter_market_frame_errors_total", **base) == 1
        assert value(s, "perp_adapter_ws_sockets", **base, socket="market") == 0
    finally:
        client.is_disposed = True


def test_a_client_registered_again_replaces_the_old_one() -> None:
    old, new = FakeDataClient("DATA-R"), FakeDataClient("DATA-R")
    new.metrics.events = 9
    metrics.register(DataClientMetrics(old, None))  # type: ignore[arg-type]
    metrics.register(DataClientMetrics(new, None))  # type: ignore[arg-type]
    try:
        assert value(scrape(), "perp_adapter_market_events_total", client_id="DATA-R") == 9
    finally:
        old.is_disposed = new.is_disposed = True


def test_a_garbage_collected_client_disappears() -> None:
    client = FakeDataClient("DATA-GC")
    metrics.register(DataClientMetrics(client, None))  # type: ignore[arg-type]
    assert value(scrape(), "perp_adapter_books", client_id="DATA-GC") == 1
    del client
    assert not any(("client_id", "DATA-GC") in ls for _, ls in scrape())


# ------------------------------------------------------------------ the endpoint


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_one_server_per_address_and_a_taken_port_fails_loudly() -> None:
    port = _free_port()
    assert metrics.serve("127.0.0.1", port) == port
    assert metrics.serve("127.0.0.1", port) == port  # a second client or node: the same server
    assert metrics.served_port("127.0.0.1", port) == port
    with urllib.request.urlopen(metrics.url("127.0.0.1", port), timeout=5) as resp:
        assert resp.status == 200
        assert b"# HELP perp_adapter_user_stream_state " in resp.read()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve Prometheus metrics on 127.0.0.1:{busy}"):
            metrics.serve("127.0.0.1", busy)
    with pytest.raises(ValueError, match="metrics_port"):
        metrics.serve("127.0.0.1", 70_000)


def test_config_without_a_port_enables_nothing() -> None:
    config = type("C", (), {"metrics_port": None, "metrics_host": "127.0.0.1"})()
    client = FakeDataClient("DATA-OFF")
    assert metrics.enable_data_client(client, config, None) is None  # type: ignore[arg-type]
    assert not any(("client_id", "DATA-OFF") in ls for _, ls in scrape())


def test_operations_page_documents_every_metric() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    start = text.index("## Metrics")
    end = text.find("\n## ", start + 3)
    section = text[start : end if end != -1 else None]
    missing = [spec.name for spec in METRICS if f"`{spec.name}" not in section]
    assert not missing, f"docs/operations.md (Metrics) does not document: {missing}"
