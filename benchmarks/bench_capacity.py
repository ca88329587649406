"""Adapter-only capacity of the user streams: frames per second through our handler into the execution
engine's entry point (``ExecEngine.process`` replaced by a counting sink), as resting orders grow.

For each venue and 100 / 10,000 / 100,000 orders resting (in NautilusTrader's cache and our tracker),
the user-stream benchmarks' frames (NEW, a partial TRADE, then a FILLED TRADE or a CANCELED per
order, interleaved) are replayed for a sample of 1,500 of those orders through ``handle_frame``
(Binance: JSON; BingX: gzip JSON). Reported: frames/s = 1e6 ÷ median µs per frame over the passes,
and that rate relative to the 100-order one (lookups by client order id and venue order id, fill
de-duplication and the cache grow with the resting orders). The market-data side is in
``bench_market_frames`` (per kind, 1 / 10 / 100 instruments).

    python -m benchmarks.bench_capacity [--passes 3]
"""

from __future__ import annotations

import argparse
import gc
import random
from collections.abc import Callable
from typing import Any

from benchmarks import bench_bingx_user_stream, bench_user_stream
from benchmarks.common import Section, median

RESTING = (100, 10_000, 100_000)
SAMPLE = 100  # the same frames at every size (100 orders: 300 frames per pass)


def _sampled(build: Callable[..., Any]) -> Callable[..., Any]:
    def build_sample(cids: list[str], seed: int = 7) -> Any:
        return build(random.Random(seed).sample(cids, min(len(cids), SAMPLE)), seed)

    return build_sample


def _measure(module: Any, n_resting: int, passes: int) -> float:
    original = module.build_frames
    module.build_frames = _sampled(original)
    try:
        bench = module.Bench(n_resting)
    finally:
        module.build_frames = original
    try:
        bench.run_once("ours")  # warm-up (also checks nothing errors)
        us = median([bench.run_once("ours")[0] for _ in range(passes)])
    finally:
        bench.close()
        del bench
        gc.collect()
    return 1e6 / us


def run(passes: int = 7, resting: tuple[int, ...] = RESTING) -> Section:
    section = Section(
        title="Adapter-only capacity, user streams: frames/s through our handler into a sink",
        headers=["venue", *[f"{n:,} resting orders" for n in resting]],
    )
    data: dict[str, dict[int, float]] = {}
    for venue, module in (("Binance", bench_user_stream), ("BingX", bench_bingx_user_stream)):
        rates = {n: _measure(module, n, passes) for n in resting}
        data[venue] = rates
        base = rates[resting[0]]
        section.rows.append([venue, *[f"{rates[n]:,.0f} ({rates[n] / base:.2f}x)" for n in resting]])
    section.notes = [
        f"frames of {SAMPLE} of the resting orders' lives (NEW, partial TRADE, FILLED TRADE or CANCELED), "
        f"median of {passes} passes; (x) = relative to {resting[0]} resting orders; one core, the "
        "execution engine replaced by a counting sink.",
    ]
    section.data = data
    return section


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    print(run(args.passes).console())


if __name__ == "__main__":
    main()
