"""``make bench``: run every benchmark in one process, print the tables, write benchmarks/RESULTS.md.

python -m benchmarks.run [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from benchmarks import bench_fill_storm, bench_recovery, bench_submit, bench_user_stream
from benchmarks.common import RESULTS, Section, machine


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples (a smoke run; results still written)"
    )
    args = parser.parse_args()
    q = args.quick
    sections: list[Section] = []
    steps = [
        ("user stream", lambda: bench_user_stream.run(2000 if q else 4000, 5 if q else 15, profile=True)),
        ("submit", lambda: bench_submit.run(30 if q else 200)),
        ("recovery", lambda: bench_recovery.run([10, 100, 1000], 2 if q else 5)),
        ("fill storm", lambda: bench_fill_storm.run(2.0 if q else 3.0)),
    ]
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
    lines += [s.markdown() for s in sections]
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
