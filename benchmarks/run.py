"""``make bench``: run every benchmark in one process, print the tables, write benchmarks/RESULTS.md.

Binance USD-M (user stream, submit, recovery, fill storm) and BingX (user-stream frames, market
frames), each against its baseline in the same run.

python -m benchmarks.run [--quick] [--only binance|bingx]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys

from benchmarks import (
    bench_bingx_frames,
    bench_bingx_user_stream,
    bench_fill_storm,
    bench_recovery,
    bench_submit,
    bench_user_stream,
)
from benchmarks.common import RESULTS, Section, machine


def _kept_sections(venue: str) -> list[str]:
    """The ``## `` sections of the current RESULTS.md that belong to ``venue`` (kept by ``--only``)."""
    if not RESULTS.exists():
        return []
    parts = re.split(r"(?m)^(?=## )", RESULTS.read_text())
    sections = [p.rstrip("\n") + "\n" for p in parts[1:]]
    is_bingx = [p.startswith("## BingX") for p in sections]
    return [p for p, bx in zip(sections, is_bingx, strict=True) if bx == (venue == "bingx")]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples (a smoke run; results still written)"
    )
    parser.add_argument(
        "--only",
        choices=["binance", "bingx"],
        help="run one venue's benchmarks; the other venue's sections of RESULTS.md are kept as they are",
    )
    args = parser.parse_args()
    q = args.quick
    sections: list[Section] = []
    binance = [
        ("user stream", lambda: bench_user_stream.run(2000 if q else 4000, 5 if q else 15, profile=True)),
        ("submit", lambda: bench_submit.run(30 if q else 200)),
        ("recovery", lambda: bench_recovery.run([10, 100, 1000], 2 if q else 5)),
        ("fill storm", lambda: bench_fill_storm.run(2.0 if q else 3.0)),
    ]
    bingx = [
        ("BingX user stream", lambda: bench_bingx_user_stream.run(2000 if q else 4000, 5 if q else 15)),
        ("BingX market frames", lambda: bench_bingx_frames.run(5000 if q else 20_000, 3 if q else 9)),
    ]
    steps = {"binance": binance, "bingx": bingx}.get(args.only or "", binance + bingx)
    for name, step in steps:
        print(f"-- running {name} benchmark ...", flush=True)
        section = step()
        sections.append(section)
        print(section.console(), "\n", flush=True)
    info = machine()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks.run`). Contenders are measured side by side in one",
        "run and compared as ratios: absolute timings on a shared machine drift between runs.",
        "",
        f"- date: {now}",
        f"- commit: {info['commit']}",
        f"- machine: {info['cpu']}, {info['os']}",
        f"- python {info['python']}, nautilus_trader {info['nautilus_trader']}",
        f"- mode: {'quick' if q else 'full'}",
        "- profile of the user-stream path: [profile_user_stream.txt](profile_user_stream.txt)",
        "",
    ]
    if args.only is not None:
        lines.append(f"- this run: {args.only} only; the other venue's sections are from an earlier run")
        lines.append("")
    ours = [s.markdown() for s in sections]
    if args.only == "bingx":  # Binance's sections first, as in a full run
        ours = _kept_sections("binance") + ours
    elif args.only == "binance":
        ours = ours + _kept_sections("bingx")
    lines += ours
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
