"""Frame -> strategy, end to end, across processes: the simulator in its own process (its CLI), each
contender in its own process, fed the same storms.

Contenders (one process each, run one after another, their order reversed every pass):

* **ours** — a TradingNode with our data and execution clients;
* **built-in** — a TradingNode with NautilusTrader 1.221's own Binance adapter (USDT futures; the
  simulator runs with ``--legacy-urls``, the root websocket URL the built-in adapter uses);
* **floor** — a bare aiohttp websocket client that decodes each frame (gunzip first on BingX) and
  records it: the socket, the simulator and the loop, no adapter, no NautilusTrader.

For each kind (quotes = bookTicker, trades = aggTrade / BingX trade, depth = diff stream / BingX
incrDepth, fills = ORDER_TRADE_UPDATE partial fills of a resting order) the simulator sends at
rising rates (``adapters.sim.bench_storm``), stamping ``time.time_ns()`` as it hands each frame
to its socket; the strategy's handler stamps it again (CLOCK_REALTIME is shared across processes).
A rate is *sustained* when every frame reaches the handler, the achieved rate (frames ÷ first
send to last receipt) is ≥ 95 % of the offered one and latency does not grow over the storm
(median of the last tenth ≤ 2x that of the first tenth + 1 ms). The sweep of a kind stops at its
first rate not sustained.

    python -m benchmarks.bench_e2e [--venue binance|bingx] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Section, median, percentile

KINDS = ("quotes", "trades", "depth", "fills")
VENUES: dict[str, dict[str, Any]] = {
    "binance": {
        "cli": ["binance-futures", "--legacy-urls"],
        "symbol": "BTCUSDT",
        "fill_symbol": "1000PEPEUSDT",
        "market": "BTCUSDT-PERP.BINANCE",
        "fill": "1000PEPEUSDT-PERP.BINANCE",
        "steps": {"quotes": "0.001", "trades": "0.001", "depth": "0.001", "fills": "1"},
        "fill_price": "0.0098765",
        "submit_price": "57000.0",
        "submit_qty": "0.002",
        "contenders": ["ours", "builtin", "floor"],
    },
    "bingx": {
        "cli": ["bingx", "--duplicate-trade-every", "0"],
        "symbol": "BTC-USDT",
        "fill_symbol": "1000PEPE-USDT",
        "market": "BTC-USDT-PERP.BINGX",
        "fill": "1000PEPE-USDT-PERP.BINGX",
        "steps": {"quotes": "0.0001", "trades": "0.0001", "depth": "0.0001", "fills": "1"},
        "fill_price": "0.0098765",
        "submit_price": "57000.0",
        "submit_qty": "0.0020",
        "contenders": ["ours", "floor"],
    },
}
LABEL = {"ours": "ours", "builtin": "built-in", "floor": "floor"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def rss_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Proc:
    """A child speaking one JSON object per line."""

    def __init__(self, args: list[str]) -> None:
        self.err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the child
        self.p = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
        )

    def read(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        while True:
            line = self.p.stdout.readline()
            if not line:
                self.err.seek(0)
                tail = self.err.read()[-3000:]
                raise RuntimeError(f"child {self.p.args[:4]} exited ({self.p.poll()}): {tail}")
            line = line.strip()
            if line.startswith("{"):
                return dict(json.loads(line))

    def ask(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        return self.read()

    def stop(self) -> None:
        try:
            if self.p.poll() is None and self.p.stdin is not None:
                self.p.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.p.stdin.flush()
            self.p.wait(timeout=20)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.p.terminate()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()


def start_sim(venue: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    cli = VENUES[venue]["cli"]
    p = subprocess.Popen(
        [sys.executable, "-m", "adapters.sim", *cli, "--port", "0", "--step-interval", "3600"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        raise RuntimeError("the simulator did not start")
    return p, json.loads(line)


def post(url: str, body: dict[str, Any], timeout: float = 180.0) -> dict[str, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


@dataclass
class Storm:
    kind: str
    offered: int
    sent: int
    received: int
    send_seconds: float
    achieved: float
    latencies_ms: list[float]
    # What the contender did besides the frames during the storm (e2e_node's ``stats``): REST
    # requests by path, full (generation 2) garbage collections and the longest one.
    requests: dict[str, int] = field(default_factory=dict)
    full_gcs: int = 0
    full_gc_max_ms: float = 0.0
    cpu_s: float = 0.0  # the contender's process CPU over the storm
    per_event_cpu_us: dict[str, float] = field(default_factory=dict)  # e2e_node --cost only

    @property
    def growing(self) -> bool:
        n = len(self.latencies_ms)
        if n < 20:
            return False
        first = median(self.latencies_ms[: n // 10])
        last = median(self.latencies_ms[-(n // 10) :])
        return last > 2 * first + 1.0

    @property
    def sustained(self) -> bool:
        return (
            self.sent > 0
            and self.received == self.sent
            and self.achieved >= 0.95 * self.offered
            and not self.growing
        )


@dataclass
class Sweep:
    contender: str
    storms: dict[str, list[Storm]] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    submit: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    rss_before: float = float("nan")
    rss_after: float = float("nan")


def _drain(node: Proc, kind: str, expect: int, within: float) -> list[list[int]]:
    """Collect until ``expect`` records of ``kind`` arrived or nothing new came for 0.5 s."""
    got: list[list[int]] = []
    end = time.monotonic() + within
    quiet_since = time.monotonic()
    while time.monotonic() < end:
        recv = node.ask({"cmd": "collect"})["recv"]
        new = recv.get(kind, [])
        if new:
            got += new
            quiet_since = time.monotonic()
        if len(got) >= expect or time.monotonic() - quiet_since > 0.5:
            break
        time.sleep(0.1)
    return got


def one_storm(node: Proc, url: str, body: dict[str, Any], settle: bool = False) -> Storm:
    """One storm; ``settle``: the contender collects its garbage first (every contender alike, so
    that no storm inherits a full collection owed to the storms before it)."""
    if settle:
        node.ask({"cmd": "settle"})
    node.ask({"cmd": "collect"})  # forget anything before
    res = post(url, body)
    if not res.get("ok"):
        raise RuntimeError(str(res.get("error")))
    stamps: list[int] = res["stamps"]
    first_key = int(res["first_key"])
    got = _drain(node, body["kind"], len(stamps), within=10.0)
    recv_at: dict[int, int] = {}
    for key, ns in got:
        recv_at.setdefault(key, ns)
    lat: list[float] = []
    last_recv = 0
    for i, sent_ns in enumerate(stamps):
        r = recv_at.get(first_key + i)
        if r is not None:
            lat.append((r - sent_ns) / 1e6)
            last_recv = max(last_recv, r)
    span = (last_recv - stamps[0]) / 1e9 if lat else 0.0
    achieved = len(lat) / max(span, body["seconds"]) if lat else 0.0
    stats = node.ask({"cmd": "stats"})
    full = stats.get("gc", {}).get("2", {})
    return Storm(
        body["kind"],
        body["rate"],
        len(stamps),
        len(lat),
        res["seconds"],
        achieved,
        lat,
        dict(stats.get("requests", {})),
        int(full.get("n", 0)),
        float(full.get("max_ms", 0.0)),
        float(stats.get("cpu_s", 0.0)),
        dict(stats.get("per_event_cpu_us", {})),
    )


def sweep(
    venue: str,
    contender: str,
    info: dict[str, str],
    rates: list[int],
    seconds: float,
    n_submit: int = 0,
    kinds: tuple[str, ...] = KINDS,
) -> Sweep:
    v = VENUES[venue]
    url = info["rest"] + "/sim/bench/storm"
    node = Proc(
        [
            "-m", "benchmarks.e2e_node", contender, "--sim", json.dumps(info), "--market", v["market"],
            "--fill", v["fill"], "--steps", json.dumps(v["steps"]),
        ]
    )  # fmt: skip
    out = Sweep(contender)
    try:
        ready = node.read()
        pid = int(ready["pid"])
        fill_body: dict[str, Any] = {}
        if True:  # the floor answers with a placeholder order
            placed = node.ask(
                {"cmd": "order", "instrument": v["fill"], "quantity": "1000000", "price": v["fill_price"]}
            )
            if "error" in placed:
                out.unmeasured["fills"] = str(placed["error"])
            else:
                vid = placed["venue_order_id"]
                fill_body = {
                    "client_order_id": placed["client_order_id"],
                    "order_id": int(vid) if vid.isdigit() else 0,
                    "price": v["fill_price"],
                    "quantity": "1000000",
                }
        if n_submit and contender != "floor":
            routes = ["rest", "ws"] if contender == "ours" and venue == "binance" else ["rest"]
            res = node.ask(
                {
                    "cmd": "submit", "n": n_submit, "instrument": v["market"], "quantity": v["submit_qty"],
                    "price": v["submit_price"], "routes": routes,
                }
            )  # fmt: skip
            if "error" in res:
                out.unmeasured["submit"] = str(res["error"])
            else:
                out.submit = res
        # Warm-up: each kind flows (subscriptions live, the book synchronised) before timing.
        for kind in kinds:
            if kind in out.unmeasured:
                continue
            body = {"kind": kind, "symbol": v["fill_symbol"] if kind == "fills" else v["symbol"]}
            body |= fill_body if kind == "fills" else {}
            ok = False
            last = ""
            for _ in range(40):
                try:
                    s = one_storm(node, url, body | {"rate": 200, "seconds": 0.25})
                    ok = s.received == s.sent
                    last = f"{s.received}/{s.sent} frames reached the strategy"
                except RuntimeError as exc:
                    last = str(exc)
                if ok:
                    break
                time.sleep(0.25)
            if not ok:
                out.unmeasured[kind] = last
        out.rss_before = rss_of(pid)
        for kind in kinds:
            if kind in out.unmeasured:
                continue
            body = {"kind": kind, "symbol": v["fill_symbol"] if kind == "fills" else v["symbol"]}
            body |= fill_body if kind == "fills" else {}
            storms: list[Storm] = []
            for rate in rates:
                try:
                    s = one_storm(node, url, body | {"rate": rate, "seconds": seconds}, settle=True)
                except RuntimeError as exc:  # e.g. the contender dropped its socket under the storm
                    out.unmeasured[kind] = f"at {rate}/s: {exc}"
                    break
                storms.append(s)
                if not s.sustained:
                    break
                time.sleep(0.2)
            out.storms[kind] = storms
        out.rss_after = rss_of(pid)
    finally:
        node.stop()
    return out


def profile_fills(venue: str, rate: int = 1000, seconds: float = 3.0) -> Path:
    """A sampling profile of our node's process under a fill storm (everything on its loop: socket,
    our handler, NautilusTrader's engines, the strategy), written beside the results."""
    v = VENUES[venue]
    path = Path(__file__).resolve().parent / f"profile_e2e_fills_{venue}.txt"
    sim, info = start_sim(venue)
    node = Proc(
        [
            "-m", "benchmarks.e2e_node", "ours", "--sim", json.dumps(info), "--market", v["market"],
            "--fill", v["fill"], "--steps", json.dumps(v["steps"]),
        ]
    )  # fmt: skip
    try:
        node.read()
        placed = node.ask(
            {"cmd": "order", "instrument": v["fill"], "quantity": "1000000", "price": v["fill_price"]}
        )
        vid = placed["venue_order_id"]
        body = {
            "kind": "fills", "symbol": v["fill_symbol"], "client_order_id": placed["client_order_id"],
            "order_id": int(vid) if vid.isdigit() else 0, "price": v["fill_price"], "quantity": "1000000",
        }  # fmt: skip
        url = info["rest"] + "/sim/bench/storm"
        one_storm(node, url, body | {"rate": 200, "seconds": 0.5})
        header = (
            f"# Our node ({venue}) under a fill storm of {rate} fills/s for {seconds} s, simulator in its "
            "own process; sampling profile of the node's process (pyinstrument, all of its loop).\n"
            "# Regenerate: python -m benchmarks.bench_e2e --profile-fills\n"
        )
        node.ask({"cmd": "settle"})
        node.ask({"cmd": "profile", "on": True})
        storm = one_storm(node, url, body | {"rate": rate, "seconds": seconds})
        header += (
            f"# {storm.received}/{storm.sent} fills reached the strategy, p50 "
            f"{median(storm.latencies_ms):.2f} ms, p99 {percentile(storm.latencies_ms, 99):.2f} ms; "
            f"REST requests during the storm: {storm.requests or 'none'}; full GCs: {storm.full_gcs}\n\n"
        )
        node.ask({"cmd": "profile", "on": False, "path": str(path), "header": header})
    finally:
        node.stop()
        sim.terminate()
        sim.wait(timeout=10)
    return path


def fill_costs(venue: str, storms: int = 3, rate: int = 1000, seconds: float = 1.5) -> str:
    """Thread CPU per fill in each node process (``e2e_node --cost``): the adapter's user-stream
    handler and NautilusTrader's execution engine, over consecutive storms on the same resting order
    (the engine's share grows with the fills the order and its position already had)."""
    v = VENUES[venue]
    lines = [
        f"{venue}: thread CPU per fill, {storms} storms of {rate} fills/s x {seconds} s on one resting order",
        "contender  fills before  handler µs  engine µs  process CPU µs/fill  p50 ms  p99 ms",
    ]
    sim, info = start_sim(venue)
    try:
        for contender in [c for c in v["contenders"] if c != "floor"]:
            node = Proc(
                [
                    "-m", "benchmarks.e2e_node", contender, "--sim", json.dumps(info),
                    "--market", v["market"], "--fill", v["fill"], "--steps", json.dumps(v["steps"]), "--cost",
                ]
            )  # fmt: skip
            try:
                node.read()
                placed = node.ask(
                    {"cmd": "order", "instrument": v["fill"], "quantity": "1000000", "price": v["fill_price"]}
                )
                vid = placed["venue_order_id"]
                body = {
                    "kind": "fills", "symbol": v["fill_symbol"], "client_order_id": placed["client_order_id"],
                    "order_id": int(vid) if vid.isdigit() else 0, "price": v["fill_price"],
                    "quantity": "1000000",
                }  # fmt: skip
                url = info["rest"] + "/sim/bench/storm"
                before = one_storm(node, url, body | {"rate": 200, "seconds": 0.25}).received
                for _ in range(storms):
                    s = one_storm(node, url, body | {"rate": rate, "seconds": seconds}, settle=True)
                    cost = s.per_event_cpu_us
                    lines.append(
                        f"{LABEL[contender]:<10} {before:>12}  {cost.get('adapter', 0):>10.1f}  "
                        f"{cost.get('engine', 0):>9.1f}  {s.cpu_s * 1e6 / max(1, s.received):>19.1f}  "
                        f"{median(s.latencies_ms):>6.2f}  {percentile(s.latencies_ms, 99):>6.2f}"
                    )
                    before += s.received
            finally:
                node.stop()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return "\n".join(lines)


def highest(storms: list[Storm]) -> int:
    best = 0
    for s in storms:
        if not s.sustained:
            break
        best = s.offered
    return best


def run(
    venues: tuple[str, ...] = ("binance", "bingx"),
    quick: bool = False,
    kinds: tuple[str, ...] = KINDS,
    contenders: tuple[str, ...] = (),
    rates: list[int] | None = None,
    passes: int | None = None,
    n_submit: int | None = None,
) -> list[Section]:
    """The sections of ``venues``; ``kinds``, ``contenders``, ``rates``, ``passes`` and ``n_submit``
    narrow a run (e.g. fills and submit only while tuning); ``make bench`` runs everything."""
    if rates is None:
        rates = [1000, 5000, 20000] if quick else [1000, 2000, 5000, 10000, 20000, 40000]
    seconds = 1.0 if quick else 1.5
    if passes is None:
        passes = 1 if quick else 2
    if n_submit is None:
        n_submit = 20 if quick else 60
    sections: list[Section] = []
    for venue in venues:
        sim, info = start_sim(venue)
        try:
            names = [c for c in VENUES[venue]["contenders"] if not contenders or c in contenders]
            sweeps: dict[str, list[Sweep]] = {c: [] for c in names}
            for p in range(passes):
                order = names if p % 2 == 0 else list(reversed(names))
                for c in order:
                    print(f"   e2e {venue} pass {p + 1}/{passes}: {c}", flush=True)
                    sweeps[c].append(sweep(venue, c, info, rates, seconds, n_submit, kinds))
        finally:
            sim.terminate()
            sim.wait(timeout=10)
        sections.append(_section(venue, names, sweeps, rates, seconds, passes, kinds))
        sections.append(_submit_section(venue, names, sweeps))
    return sections


def _section(
    venue: str,
    contenders: list[str],
    sweeps: dict[str, list[Sweep]],
    rates: list[int],
    seconds: float,
    passes: int,
    kinds: tuple[str, ...] = KINDS,
) -> Section:
    name = "Binance" if venue == "binance" else "BingX"
    section = Section(
        title=f"{name} end to end: simulator process -> socket -> strategy handler (ms)",
        headers=["kind", "offered/s", *[f"{LABEL[c]} p50 / p99 (sustained)" for c in contenders]],
    )
    best: dict[str, dict[str, int]] = {c: {} for c in contenders}
    p99s: dict[str, dict[str, dict[int, float]]] = {c: {} for c in contenders}
    for kind in kinds:
        for c in contenders:
            per_pass = [highest(sw.storms.get(kind, [])) for sw in sweeps[c]]
            best[c][kind] = min(per_pass) if per_pass else 0
        for rate in rates:
            row = [kind, str(rate)]
            any_cell = False
            for c in contenders:
                runs = [s for sw in sweeps[c] for s in sw.storms.get(kind, []) if s.offered == rate]
                if not runs:
                    why = next((sw.unmeasured[kind] for sw in sweeps[c] if kind in sw.unmeasured), None)
                    row.append("not measured" if why else "-")
                    continue
                any_cell = True
                p50 = median([median(s.latencies_ms) for s in runs if s.latencies_ms])
                p99 = median([percentile(s.latencies_ms, 99) for s in runs if s.latencies_ms])
                sus = sum(s.sustained for s in runs)
                p99s[c].setdefault(kind, {})[rate] = p99
                row.append(f"{p50:.2f} / {p99:.2f} ({sus}/{len(runs)})")
            if any_cell:
                section.rows.append(row)
    section.notes.append(
        "highest sustained rate per kind (the lower of the passes), frames/s: "
        + "; ".join(f"{LABEL[c]}: " + ", ".join(f"{k} {best[c][k]}" for k in kinds) for c in contenders)
    )
    for c in contenders:
        for k, sw in enumerate(sweeps[c]):
            for kind, storms in sw.storms.items():
                stop = next((s for s in storms if not s.sustained), None)
                if stop is not None:
                    section.notes.append(
                        f"{LABEL[c]} pass {k + 1}, {kind} at {stop.offered}/s not sustained: "
                        f"{stop.received}/{stop.sent} frames reached the handler, achieved "
                        f"{stop.achieved:.0f}/s, latency growing: {'yes' if stop.growing else 'no'}"
                    )
            for kind, why in sw.unmeasured.items():
                section.notes.append(f"{LABEL[c]}: {kind} could not be measured: {why}")
            for kind, storms in sw.storms.items():
                for s in storms:
                    extra = []
                    if s.requests:
                        extra.append("REST " + ", ".join(f"{k} x{n}" for k, n in sorted(s.requests.items())))
                    if s.full_gcs:
                        extra.append(f"{s.full_gcs} full GC(s), longest {s.full_gc_max_ms:.1f} ms")
                    if extra:
                        section.notes.append(
                            f"{LABEL[c]} pass {k + 1}, {kind} at {s.offered}/s, during the storm: "
                            + "; ".join(extra)
                        )
    rss = "; ".join(
        f"{LABEL[c]} " + ", ".join(f"{sw.rss_before:.0f} -> {sw.rss_after:.0f}" for sw in sweeps[c])
        for c in contenders
    )
    section.notes += [
        f"RSS of each contender's process before its first and after its last storm (MiB, per pass): {rss}.",
        f"{passes} pass(es); each storm {seconds} s; rates {rates}; a kind's sweep stops at its first "
        "rate not sustained; (k/n) = sustained in k of n passes; p50/p99 = median over passes.",
        "the simulator, its storms pre-rendered, runs in its own process; the contenders run one at a "
        "time (2 cores: simulator + contender).",
        "before each timed storm every contender collects its garbage (gc.collect()), so none inherits "
        "a full collection owed to earlier storms; REST requests and full collections during a storm "
        "are listed above when there were any.",
    ]
    section.data = {"best": best, "p99": p99s}
    return section


def _submit_section(venue: str, contenders: list[str], sweeps: dict[str, list[Sweep]]) -> Section:
    name = "Binance" if venue == "binance" else "BingX"
    section = Section(
        title=f"{name} submit path: CPU per order in our code, and submit -> accepted over loopback",
        headers=[
            "path",
            "our code CPU µs (median)",
            "to the socket µs",
            "incl. NautilusTrader µs",
            "accepted p50 ms",
            "p99 ms",
            "n",
        ],
    )
    cpu: dict[str, float] = {}
    to_socket: dict[str, float] = {}
    for c in contenders:
        for route in ("rest", "ws"):
            runs = [sw.submit[route] for sw in sweeps[c] if route in sw.submit]
            if not runs:
                continue
            lat = [x for r in runs for x in r["latency_ms"]]
            ours = [x for r in runs for x in r["ours_cpu_us"]]
            wire = [x for r in runs for x in r.get("socket_cpu_us", [])]
            total = [x for r in runs for x in r["total_cpu_us"]]
            label = f"{LABEL[c]} {'WebSocket trading' if route == 'ws' else 'REST'}"
            if c == "ours":
                cpu[route] = median(ours)
                if wire:
                    to_socket[route] = median(wire)
            section.rows.append(
                [
                    label,
                    f"{median(ours):.1f}" if ours else "-",
                    f"{median(wire):.1f}" if wire else "-",
                    f"{median(total):.1f}" if total else "-",
                    f"{median(lat):.2f}",
                    f"{percentile(lat, 99):.2f}",
                    str(len(lat)),
                ]
            )
    for c in contenders:
        for sw in sweeps[c]:
            if "submit" in sw.unmeasured:
                section.notes.append(f"{LABEL[c]}: submit not measured: {sw.unmeasured['submit']}")
    section.notes += [
        "our code CPU: thread CPU time from the first step of our execution client's _submit_order "
        "coroutine (after NautilusTrader's LiveExecutionClient.submit_order, which logs the order and "
        "creates the task) to the order request reaching aiohttp (REST POST .../order) or the "
        "order.place frame reaching send_str (WS); 'to the socket': from the same start to the first "
        "transport write (aiohttp's HTTP request / websocket frame building included); 'incl. "
        "NautilusTrader': from Strategy.submit_order to aiohttp (RiskEngine, ExecEngine).",
        "accepted: Strategy.submit_order -> on_order_accepted, the simulator in its own process; one "
        "order at a time, paced 36 ms, each canceled (untimed). Ours accepts on the REST / WS answer; "
        "the built-in adapter on the user stream's NEW.",
    ]
    section.data = {"ours_cpu_us": cpu, "socket_cpu_us": to_socket}
    return section


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venue", choices=["binance", "bingx"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile-fills", action="store_true", help="only write the fill-storm profiles")
    parser.add_argument(
        "--fill-costs", action="store_true", help="only print thread CPU per fill: handler and engine"
    )
    parser.add_argument("--kinds", help="comma-separated subset of " + ",".join(KINDS))
    parser.add_argument("--contenders", help="comma-separated subset of ours,builtin,floor")
    parser.add_argument("--rates", help="comma-separated frames/s (default: the full or quick sweep)")
    parser.add_argument("--passes", type=int)
    parser.add_argument("--submit", type=int, help="orders per submit route (0: no submit path)")
    args = parser.parse_args()
    if args.profile_fills:
        for venue in (args.venue,) if args.venue else ("binance", "bingx"):
            print(profile_fills(venue))
        return
    venues = (args.venue,) if args.venue else ("binance", "bingx")
    if args.fill_costs:
        for venue in venues:
            print(fill_costs(venue))
        return
    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    contenders = tuple(args.contenders.split(",")) if args.contenders else ()
    rates = [int(r) for r in args.rates.split(",")] if args.rates else None
    for s in run(venues, args.quick, kinds, contenders, rates, args.passes, args.submit):
        print(s.console())


if __name__ == "__main__":
    main()
