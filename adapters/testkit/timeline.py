"""A small recorder of what happened during a run, drawn as a timeline picture (SVG, and HTML that
wraps the SVG with a legend and an event list). No dependencies beyond the standard library.

One *lane* per venue connection (``BINANCE user stream``, ``BINGX market data``, ...). On a lane:

* its connection **state** over time (``open``, ``connecting``, ``overlap``, ``stalled``, ``down``,
  ``resyncing``...), a coloured bar;
* **spans**, e.g. a recovery run from its start to the moment the new stream dispatches;
* **marks** at an instant: ``fault`` (something injected), ``fill`` (the node got a fill),
  ``trade`` (the venue made a trade), ``note``.

Recording is cheap and synchronous (hooks call it); :class:`StateSampler` turns probes (callables
returning a state name) into state changes by sampling them on the loop. Times are seconds since the
timeline was created (``clock`` is ``time.monotonic`` by default).

    tl = Timeline("demo")
    tl.add_lane("BINANCE user stream", group="BINANCE")
    async with StateSampler(tl, {"BINANCE user stream": probe}):
        tl.mark("fault", "BINANCE user stream", "listen key expired")
        ...
    tl.finish()
    html, svg = tl.write(Path("runs/x"))
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# State -> (fill colour, description for the legend).
STATE_STYLE: dict[str, tuple[str, str]] = {
    "open": ("#3aa569", "connected and dispatching"),
    "overlap": ("#2b7bb9", "rotation: old and new socket both open"),
    "connecting": ("#f2c14e", "connecting"),
    "reconnecting": ("#f2a541", "reconnecting (backoff)"),
    "resyncing": ("#9b6ad6", "order book resynchronising (snapshot)"),
    "stalled": ("#d64545", "liveness deadline missed"),
    "down": ("#7a1f1f", "no socket"),
    "closed": ("#c4ccd4", "not started / stopped"),
}
MARK_STYLE: dict[str, tuple[str, str]] = {
    "fault": ("#d64545", "fault injected"),
    "trade": ("#1d3557", "trade made on the venue"),
    "fill": ("#1d3557", "fill received by the node"),
    "note": ("#555555", "note"),
}
SPAN_STYLE: dict[str, tuple[str, str]] = {
    "recovery": ("#f2a541", "recovery run (new key, snapshot, connect, backfill, swap)"),
}


@dataclass(slots=True)
class Lane:
    name: str
    group: str
    states: list[tuple[float, str]] = field(default_factory=list)


@dataclass(slots=True)
class Mark:
    kind: str
    lane: str
    at: float
    label: str
    number: int = 0  # faults are numbered in the picture and listed under it


@dataclass(slots=True)
class Span:
    kind: str
    lane: str
    start: float
    end: float
    label: str


class Timeline:
    def __init__(self, title: str = "run", clock: Callable[[], float] = time.monotonic) -> None:
        self.title = title
        self.clock = clock
        self.t0 = clock()
        self.wall_t0 = time.time()
        self.lanes: dict[str, Lane] = {}
        self.marks: list[Mark] = []
        self.spans: list[Span] = []
        self.end: float | None = None

    # --- recording ---------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock() - self.t0

    def from_wall_ms(self, epoch_ms: int | float) -> float:
        """A wall-clock time (epoch ms, e.g. a venue timestamp) on this timeline."""
        return epoch_ms / 1000.0 - self.wall_t0

    def add_lane(self, name: str, group: str = "") -> Lane:
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = Lane(name, group)
        return lane

    def state(self, lane: str, state: str, at: float | None = None) -> None:
        """``lane`` is in ``state`` from ``at`` (default: now); repeated states are ignored."""
        states = self.add_lane(lane).states
        if states and states[-1][1] == state:
            return
        states.append((self.now() if at is None else at, state))

    def mark(self, kind: str, lane: str, label: str, at: float | None = None) -> Mark:
        self.add_lane(lane)
        number = sum(m.kind == kind for m in self.marks) + 1 if kind == "fault" else 0
        mark = Mark(kind, lane, self.now() if at is None else at, label, number)
        self.marks.append(mark)
        return mark

    def span(self, kind: str, lane: str, start: float, end: float, label: str) -> Span:
        self.add_lane(lane)
        span = Span(kind, lane, start, end, label)
        self.spans.append(span)
        return span

    def finish(self, at: float | None = None) -> None:
        self.end = self.now() if at is None else at

    def duration(self) -> float:
        points = [self.end or 0.0, self.now() if self.end is None else 0.0]
        points += [m.at for m in self.marks] + [s.end for s in self.spans]
        return max(max(points), 0.001)

    def faults(self, lane_prefix: str = "") -> list[Mark]:
        return [m for m in self.marks if m.kind == "fault" and m.lane.startswith(lane_prefix)]

    # --- rendering -----------------------------------------------------------------------------
    def render_svg(self, width: int = 1200) -> str:
        return _SvgRenderer(self, width).render()

    def render_html(self, width: int = 1200, summary: str = "") -> str:
        svg = self.render_svg(width)
        rows = []
        events: list[tuple[float, str, str, str]] = [
            (m.at, m.kind, m.lane, (f"#{m.number} " if m.number else "") + m.label) for m in self.marks
        ]
        events += [
            (s.start, s.kind, s.lane, f"{s.label} ({(s.end - s.start) * 1000:.0f} ms)") for s in self.spans
        ]
        for at, kind, lane, label in sorted(events, key=lambda e: e[0]):
            rows.append(
                f"<tr class='{_esc(kind)}'><td>{at:7.3f}s</td><td>{_esc(kind)}</td>"
                f"<td>{_esc(lane)}</td><td>{_esc(label)}</td></tr>"
            )
        legend = "".join(
            f"<li><span class='sw' style='background:{c}'></span><b>{_esc(k)}</b> {_esc(d)}</li>"
            for k, (c, d) in STATE_STYLE.items()
        )
        legend += "".join(
            f"<li><span class='sw' style='background:{c};opacity:.45'></span><b>{_esc(k)}</b> {_esc(d)}</li>"
            for k, (c, d) in SPAN_STYLE.items()
        )
        legend += (
            "<li><span class='mk'>&#9660;</span><b>fault</b> fault injected (numbered)</li>"
            "<li><span class='mk' style='color:#1d3557'>&#9675;</span><b>trade</b> trade made on the venue"
            "</li><li><span class='mk' style='color:#1d3557'>&#9679;</span><b>fill</b> "
            "fill received by the node</li>"
        )
        pre = f"<pre>{_esc(summary)}</pre>" if summary else ""
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(self.title)}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; }} ul.legend {{ list-style: none; padding: 0; columns: 2; }}
ul.legend li {{ margin: 3px 0; font-size: 13px; }}
.sw {{ display: inline-block; width: 22px; height: 11px; margin-right: 6px; vertical-align: middle; }}
.mk {{ display: inline-block; width: 22px; color: #d64545; text-align: center; margin-right: 6px; }}
table {{ border-collapse: collapse; font-size: 12px; }}
td {{ padding: 2px 8px; border-bottom: 1px solid #eee; }}
tr.fault td {{ color: #b02a2a; }} tr.recovery td {{ color: #a05a00; }}
pre {{ font-size: 12px; background: #f6f8fa; padding: 12px; }}
</style></head><body>
<h1>{_esc(self.title)}</h1>
{svg}
<h2>Legend</h2><ul class="legend">{legend}</ul>
{pre}
<h2>Events</h2><table>{"".join(rows)}</table>
</body></html>
"""

    def write(self, directory: Path, stem: str = "timeline", summary: str = "") -> tuple[Path, Path]:
        """Write ``<stem>.html`` and ``<stem>.svg`` into ``directory``; return both paths."""
        directory.mkdir(parents=True, exist_ok=True)
        svg_path = directory / f"{stem}.svg"
        html_path = directory / f"{stem}.html"
        svg_path.write_text(self.render_svg(), encoding="utf-8")
        html_path.write_text(self.render_html(summary=summary), encoding="utf-8")
        return html_path, svg_path


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


class _SvgRenderer:
    LABEL_W = 180
    RIGHT = 24
    TOP = 58
    LANE_H = 46
    BAR_Y = 16  # offset of the state bar inside a lane
    BAR_H = 14

    def __init__(self, tl: Timeline, width: int) -> None:
        self.tl = tl
        self.width = width
        self.span_s = tl.duration()
        self.plot_w = width - self.LABEL_W - self.RIGHT

    def x(self, t: float) -> float:
        t = min(max(t, 0.0), self.span_s)
        return self.LABEL_W + t / self.span_s * self.plot_w

    def render(self) -> str:
        tl = self.tl
        lanes = list(tl.lanes.values())
        faults = [m for m in tl.marks if m.kind == "fault"]
        lanes_h = len(lanes) * self.LANE_H
        legend_y = self.TOP + lanes_h + 26
        list_rows = (len(faults) + 1) // 2
        height = legend_y + 30 + list_rows * 15 + 10
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{height}" '
            f'viewBox="0 0 {self.width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
            f"<title>{_esc(tl.title)}</title>",
            f'<rect x="0" y="0" width="{self.width}" height="{height}" fill="#ffffff"/>',
            f'<text x="12" y="20" font-size="14" font-weight="bold">{_esc(tl.title)}</text>',
        ]
        out += self._axis(lanes_h)
        for i, lane in enumerate(lanes):
            out += self._lane(lane, self.TOP + i * self.LANE_H, i)
        out += self._legend(legend_y)
        out += self._fault_list(faults, legend_y + 30)
        out.append("</svg>")
        return "\n".join(out)

    def _axis(self, lanes_h: int) -> list[str]:
        step = next((s for s in (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300) if self.span_s / s <= 14), 600)
        out = []
        bottom = self.TOP + lanes_h
        n = int(self.span_s / step) + 1
        for k in range(n):
            t = k * step
            x = self.x(t)
            out.append(
                f'<line x1="{x:.1f}" y1="{self.TOP - 6}" x2="{x:.1f}" y2="{bottom}" stroke="#e3e7eb"/>'
            )
            out.append(
                f'<text x="{x:.1f}" y="{self.TOP - 10}" text-anchor="middle" fill="#666">{t:g}s</text>'
            )
        return out

    def _lane(self, lane: Lane, y: int, index: int) -> list[str]:
        tl = self.tl
        bg = "#f7f9fb" if index % 2 == 0 else "#ffffff"
        out = [
            f'<g class="lane" data-lane="{_esc(lane.name)}">',
            f'<rect x="0" y="{y}" width="{self.width}" height="{self.LANE_H}" fill="{bg}"/>',
            f'<text x="12" y="{y + self.BAR_Y + 11}" font-weight="bold">{_esc(lane.name)}</text>',
        ]
        bar_y = y + self.BAR_Y
        end = self.span_s
        states = lane.states or [(0.0, "closed")]
        if states[0][0] > 0:
            states = [(0.0, "closed"), *states]
        for i, (start, state) in enumerate(states):
            stop = states[i + 1][0] if i + 1 < len(states) else end
            x0, x1 = self.x(start), self.x(stop)
            color = STATE_STYLE.get(state, ("#999999", ""))[0]
            out.append(
                f'<rect class="state state-{_esc(state)}" x="{x0:.2f}" y="{bar_y}" '
                f'width="{max(x1 - x0, 0.8):.2f}" height="{self.BAR_H}" fill="{color}">'
                f"<title>{_esc(lane.name)}: {_esc(state)} {start:.3f}s - {stop:.3f}s</title></rect>"
            )
        for span in (s for s in tl.spans if s.lane == lane.name):
            color = SPAN_STYLE.get(span.kind, ("#f2a541", ""))[0]
            x0, x1 = self.x(span.start), self.x(span.end)
            out.append(
                f'<rect class="span {_esc(span.kind)}" data-lane="{_esc(lane.name)}" '
                f'x="{x0:.2f}" y="{y + 4}" width="{max(x1 - x0, 2.0):.2f}" height="{self.LANE_H - 8}" '
                f'fill="{color}" fill-opacity="0.35" stroke="{color}" stroke-width="1">'
                f"<title>{_esc(span.kind)} {span.start:.3f}s - {span.end:.3f}s "
                f"({(span.end - span.start) * 1000:.0f} ms): {_esc(span.label)}</title></rect>"
            )
        label_x = -1e9  # fault numbers close together are pushed right so they stay readable
        for m in sorted((m for m in tl.marks if m.lane == lane.name), key=lambda m: m.at):
            if m.kind == "fault":
                label_x = max(self.x(m.at) + 6, label_x + 7 + 6 * len(str(m.number)))
                out.append(self._mark(m, y, label_x))
            else:
                out.append(self._mark(m, y))
        out.append("</g>")
        return out

    def _mark(self, m: Mark, y: int, label_x: float | None = None) -> str:
        x = self.x(m.at)
        lx = x + 6 if label_x is None else label_x
        color = MARK_STYLE.get(m.kind, ("#555555", ""))[0]
        tip = f"<title>{_esc(m.kind)} {m.at:.3f}s: {_esc(m.label)}</title>"
        attrs = f'class="mark {_esc(m.kind)}" data-lane="{_esc(m.lane)}"'
        if m.kind == "fault":
            top = y + 2
            return (
                f'<g {attrs}><polygon points="{x - 5:.1f},{top} {x + 5:.1f},{top} {x:.1f},{top + 10}" '
                f'fill="{color}"/><line x1="{x:.1f}" y1="{top + 10}" x2="{x:.1f}" '
                f'y2="{y + self.BAR_Y + self.BAR_H}" '
                f'stroke="{color}" stroke-width="1.2"/><text x="{lx:.1f}" y="{top + 9}" fill="{color}" '
                f'font-weight="bold">{m.number}</text>{tip}</g>'
            )
        cy = y + self.BAR_Y + self.BAR_H + 8
        if m.kind == "trade":
            return (
                f'<circle {attrs} cx="{x:.1f}" cy="{cy}" r="3.2" fill="none" stroke="{color}">{tip}</circle>'
            )
        if m.kind == "fill":
            return f'<circle {attrs} cx="{x:.1f}" cy="{cy}" r="2.4" fill="{color}">{tip}</circle>'
        return f'<rect {attrs} x="{x - 1:.1f}" y="{cy - 4}" width="2" height="8" fill="{color}">{tip}</rect>'

    def _legend(self, y: int) -> list[str]:
        out = []
        x = 12
        items = [(c, "not started" if k == "closed" else k) for k, (c, _) in STATE_STYLE.items()]
        for color, name in items:
            out.append(f'<rect x="{x}" y="{y - 9}" width="16" height="10" fill="{color}"/>')
            out.append(f'<text x="{x + 20}" y="{y}">{_esc(name)}</text>')
            x += 22 + 6 * len(name) + 8
        color = SPAN_STYLE["recovery"][0]
        out.append(
            f'<rect x="{x}" y="{y - 11}" width="16" height="14" fill="{color}" fill-opacity="0.35" '
            f'stroke="{color}"/>'
        )
        out.append(f'<text x="{x + 20}" y="{y}">recovery run</text>')
        x += 110
        red, blue = MARK_STYLE["fault"][0], MARK_STYLE["fill"][0]
        out.append(f'<polygon points="{x},{y - 9} {x + 10},{y - 9} {x + 5},{y + 1}" fill="{red}"/>')
        out.append(f'<text x="{x + 14}" y="{y}">fault (numbered below)</text>')
        x += 150
        out.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="3.2" fill="none" stroke="{blue}"/>')
        out.append(f'<text x="{x + 12}" y="{y}">venue trade</text>')
        x += 90
        out.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="2.4" fill="{blue}"/>')
        out.append(f'<text x="{x + 12}" y="{y}">fill in the node</text>')
        return out

    def _fault_list(self, faults: list[Mark], y: int) -> list[str]:
        out = []
        half = (len(faults) + 1) // 2
        col_w = (self.width - 24) // 2
        for i, m in enumerate(faults):
            col, row = divmod(i, half) if half else (0, 0)
            x = 12 + col * col_w
            text = f"{m.number}. {m.at:5.2f}s  {m.lane.split(' ')[0]}: {m.label}"
            max_chars = col_w // 6
            if len(text) > max_chars:
                text = text[: max_chars - 1] + "…"
            out.append(
                f'<text class="fault-label" x="{x}" y="{y + row * 15}" fill="#333">{_esc(text)}</text>'
            )
        return out


class StateSampler:
    """Samples ``probes`` (lane -> callable returning a state name) every ``interval`` seconds on
    the running loop and records each change on the timeline. An async context manager: the
    sampling task lives exactly as long as the ``async with`` block (and a final sample is taken)."""

    def __init__(
        self, timeline: Timeline, probes: dict[str, Callable[[], str]], interval: float = 0.005
    ) -> None:
        self.timeline = timeline
        self.probes = probes
        self.interval = interval
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        self.samples += 1
        for lane, probe in self.probes.items():
            try:
                state = probe()
            except Exception as exc:  # a probe must never break the run it observes
                state = f"error: {type(exc).__name__}"
            self.timeline.state(lane, state)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> StateSampler:
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="timeline-sampler")
        return self

    async def __aexit__(self, *exc: object) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # not ``await task``: a cancel of our caller must pass through
        self.sample()
