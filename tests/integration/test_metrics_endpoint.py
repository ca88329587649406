"""The Prometheus endpoint of a real TradingNode against the simulator, scraped over HTTP as Prometheus does.

* One venue at a time (SimNode, both venues): a user-stream fault whose recovery fails until new sockets are
  allowed again, with a fill on the venue meanwhile. The scrape shows the stream ``down`` and for how long,
  the failed attempts, then - once it recovered - ``connected`` again with its time in state reset, the
  recovery counted, the fill counted as reached by REST; Binance's request weight is non-zero.
* Both venues in one node with data and execution clients (MultiVenueNode): a book gap is counted, and every
  metric the example alert rules (examples/monitoring/alerts.yml) use is in what the endpoint exports.
"""

from __future__ import annotations

import re
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from nautilus_trader.model.enums import OrderSide, OrderStatus
from prometheus_client.parser import text_string_to_metric_families

from adapters.core.client import metrics
from adapters.testkit.node import INSTRUMENTS, SYMBOLS, MultiVenueNode, SimNode

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "examples" / "monitoring" / "alerts.yml"

FAST = {
    "ws_ping_interval_secs": 0.2,
    "ws_pong_timeout_secs": 0.6,
    "ws_stall_timeout_secs": 1.5,
    "recovery_backoff_initial_secs": 0.05,
    "recovery_backoff_cap_secs": 0.2,
}
QTY = {"BINANCE": "0.010", "BINGX": "0.0100"}

Sample = tuple[str, dict[str, str], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape(url: str) -> list[Sample]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def value(samples: list[Sample], name: str, client_id: str, **labels: str) -> float:
    found = [
        v
        for n, ls, v in samples
        if n == name and ls.get("client_id") == client_id and all(ls.get(k) == x for k, x in labels.items())
    ]
    assert len(found) == 1, (name, client_id, labels, found)
    return found[0]


def state(samples: list[Sample], client_id: str) -> str:
    states = [
        ls["state"]
        for n, ls, v in samples
        if n == "perp_adapter_user_stream_state" and ls.get("client_id") == client_id and v == 1
    ]
    assert len(states) == 1, states
    return states[0]


@pytest.mark.parametrize("venue", ["binance-futures", "bingx"])
async def test_scrape_through_a_user_stream_outage_and_its_recovery(venue: str) -> None:
    port = free_port()
    async with SimNode(venue=venue, seed=5, exec_config={**FAST, "metrics_port": port}) as env:
        url = metrics.url("127.0.0.1", port)
        key = env.client_key
        recovery = env._client().user_stream.ctx.metrics
        symbol = SYMBOLS[key]
        last = env.sim.engine.last_price(symbol)
        price = (last * Decimal("0.95")).quantize(Decimal("0.1"))
        cid = env.strategy.limit(INSTRUMENTS[key], OrderSide.BUY, QTY[key], str(price))
        await env.wait_until(lambda: env.order(cid).status == OrderStatus.ACCEPTED, what="accepted")

        before = await scrape(url)
        labels = {ls["trader_id"] for n, ls, _ in before if ls.get("client_id") == key}
        assert labels == {"TESTER-001"}
        assert state(before, key) == "connected"
        assert value(before, "perp_adapter_client_connected", key) == 1
        assert value(before, "perp_adapter_user_stream_not_connected_seconds", key) == 0
        assert value(before, "perp_adapter_user_stream_recoveries_total", key) == 0
        assert value(before, "perp_adapter_ws_sockets_open", key, socket="user") == 1
        connected_for = value(before, "perp_adapter_user_stream_state_seconds", key)
        assert connected_for > 0

        # The user socket drops and new ones are refused: every recovery attempt fails meanwhile, and
        # the order fills on the venue while no user socket exists.
        env.sim.faults.refuse_streams("user")
        env.sim.faults.drop_streams("user")
        env.sim.engine.set_price(symbol, price - Decimal("10"))
        await env.wait_until(lambda: recovery.failures >= 2, what="two failed attempts")
        down = await scrape(url)
        assert state(down, key) == "down"
        assert value(down, "perp_adapter_user_stream_recovery_failures_total", key) >= 2
        assert value(down, "perp_adapter_ws_sockets_open", key, socket="user") == 0
        blind_for = value(down, "perp_adapter_user_stream_not_connected_seconds", key)
        assert blind_for > 0
        await env.wait_until(lambda: recovery.failures >= 4, what="two more failed attempts")
        later = await scrape(url)
        assert value(later, "perp_adapter_user_stream_not_connected_seconds", key) > blind_for  # it grows
        assert value(later, "perp_adapter_user_stream_state_seconds", key) > 0

        runs = recovery.runs
        env.sim.faults.refuse_streams("user", on=False)
        await env.wait_until(lambda: recovery.runs > runs and not recovery.in_progress, what="recovery")
        await env.wait_until(lambda: env.order(cid).status == OrderStatus.FILLED, what="fill recovered")
        after = await scrape(url)
        assert state(after, key) == "connected"
        assert value(after, "perp_adapter_user_stream_recoveries_total", key) == recovery.runs >= runs + 1
        assert value(after, "perp_adapter_user_stream_not_connected_seconds", key) == 0
        assert value(after, "perp_adapter_user_stream_state_seconds", key) < connected_for  # reset
        assert value(after, "perp_adapter_user_stream_last_recovery_duration_seconds", key) > 0
        assert value(after, "perp_adapter_ws_sockets_open", key, socket="user") == 1
        assert value(after, "perp_adapter_ws_reconnects_total", key, socket="user") >= 1
        # The fill made while the stream was down reached the engine through REST (backfill or poll).
        assert value(after, "perp_adapter_fills_total", key, source="rest") >= 1
        assert value(after, "perp_adapter_fills_total", key, source="stream") == 0
        assert value(after, "perp_adapter_user_frames_dropped_total", key, reason="rejected") == 0

        if key == "BINANCE":
            weight = value(after, "perp_adapter_rest_weight_used", key, bucket="request_weight", window="1m")
            if weight == 0:  # the one-minute window rolled just now: spend some weight and look again
                await env.exec_client._http.account()
                after = await scrape(url)
                weight = value(
                    after, "perp_adapter_rest_weight_used", key, bucket="request_weight", window="1m"
                )
            assert weight > 0
            assert (
                value(after, "perp_adapter_rest_weight_limit", key, bucket="request_weight", window="1m") > 0
            )
            ratio = value(
                after, "perp_adapter_rest_weight_used_ratio", key, bucket="request_weight", window="1m"
            )
            assert 0 < ratio < 1
        else:
            limits = [
                v for n, ls, v in after if n == "perp_adapter_rest_weight_limit" and ls["client_id"] == key
            ]
            assert limits and all(v > 0 for v in limits)  # one bucket per endpoint used
            assert value(after, "perp_adapter_rest_polls_total", key) >= 0

    # Disposed with its node: the client is gone from the endpoint (the server stays for the process).
    gone = await scrape(url)
    assert not any(ls.get("client_id") == key for _, ls, _ in gone)


# ------------------------------------------------------------------ alert rules against a real scrape

_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}


def expr_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords,
    label names (inside ``{}`` or a ``by (...)`` list) or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range / subquery windows
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or word.lower() in _PROMQL_WORDS:
            continue  # a function call or a keyword
        names.add(word)
    return names


def test_expr_metric_names() -> None:
    expr = 'max by (client_id) (rate(perp_adapter_a_total{x="y"}[5m])) > 0.8 or perp_adapter_b == bool 1'
    assert expr_metric_names(expr) == {"perp_adapter_a_total", "perp_adapter_b"}


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    assert rules
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"].startswith("Perp") and rule["labels"]["severity"] in {"page", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    return rules


async def test_alert_rules_use_only_exported_metrics_of_both_venues() -> None:
    port = free_port()
    on = {"metrics_port": port}
    env = MultiVenueNode(
        step_interval=0.1,  # the simulators' markets move: quotes and book diffs flow
        exec_config={"BINANCE": {**FAST, **on}, "BINGX": {**FAST, **on}},
        data_config={"BINANCE": dict(on), "BINGX": dict(on)},
    )
    async with env:
        url = metrics.url("127.0.0.1", port)
        for key in env.keys:  # books are subscribed and synced
            await env.wait_until(lambda k=key: env.quotes(k) > 0, within=15, what=f"{key} quotes")
            data = env.data_client(key)
            await env.wait_until(
                lambda d=data: d.books and all(b.sync.is_synced for b in d.books.values()),
                within=15,
                what=f"{key} books synced",
            )
        first = await scrape(url)
        gaps = {k: value(first, "perp_adapter_book_gaps_total", k) for k in env.keys}
        for key in env.keys:
            env.sims[key].faults.market_gap(env.symbol(key))
        for key in env.keys:
            await env.wait_until(
                lambda k=key: (
                    env.book_resyncs(k) > 0
                    and all(b.sync.is_synced for b in env.data_client(k).books.values())
                ),
                within=15,
                what=f"{key} book resynced",
            )
        samples = await scrape(url)

    for key in env.keys:
        assert value(samples, "perp_adapter_book_gaps_total", key) > gaps[key]
        assert value(samples, "perp_adapter_book_resyncs_total", key) >= 1
        assert value(samples, "perp_adapter_books_unsynced", key) == 0
        assert value(samples, "perp_adapter_ws_sockets_open", key, socket="market") >= 1
        assert value(samples, "perp_adapter_market_events_total", key) > 0
        assert state(samples, key) == "connected"
        # The data and execution clients of a venue share the client id: client_type tells them apart.
        for client_type in ("execution", "data"):
            assert value(samples, "perp_adapter_client_connected", key, client_type=client_type) == 1
    series = [(name, tuple(sorted(labels.items()))) for name, labels, _ in samples]
    assert len(series) == len(set(series)), "a series is exported twice (Prometheus rejects the scrape)"

    exported = {name for name, _, _ in samples}
    rules = alert_rules()
    used: set[str] = set()
    for rule in rules:
        names = expr_metric_names(rule["expr"])
        assert names, rule["alert"]
        missing = names - exported
        assert not missing, f"{rule['alert']} uses {missing}, which the endpoint does not export"
        used |= names
        for name, matchers in re.findall(r"([a-z_:][a-z0-9_:]*)\{([^}]*)\}", rule["expr"]):
            labels = set(re.findall(r"([a-z_][a-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers))
            known = {*metrics.BASE_LABELS, *metrics.SPECS[name].labels}
            assert labels <= known, f"{rule['alert']}: {name} has no label {labels - known}"
    assert all(name.startswith(metrics.PREFIX) for name in used)

    docs = (ROOT / "docs" / "operations.md").read_text()
    for rule in rules:
        assert f"`{rule['alert']}`" in docs, f"docs/operations.md does not mention {rule['alert']}"
