"""Command line: ``python -m adapters.sim {binance-futures|bingx} --port 0 [--seed N] ...``.

Prints one JSON line with URLs and credentials once the venue accepts connections, then serves
until SIGINT/SIGTERM and exits with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from typing import Any

from adapters.sim.server import SimVenue


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adapters.sim", description="Local venue simulator")
    sub = parser.add_subparsers(dest="venue", required=True)
    b = sub.add_parser("binance-futures", help="Binance USD-M Futures dialect")
    b.add_argument("--host", default="127.0.0.1")
    b.add_argument("--port", type=int, default=0, help="0 picks a free port")
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--listen-key-ttl", type=float, default=3600.0, help="listen key lifetime, seconds")
    b.add_argument("--max-connection-age", type=float, default=86_400.0, help="websocket lifetime, seconds")
    b.add_argument("--step-interval", type=float, default=0.1, help="market step period, seconds")
    b.add_argument("--rate-limit-weight", type=int, default=2400, help="REST weight per minute")
    b.add_argument("--ping-interval", type=float, default=180.0, help="server ping period, seconds")
    b.add_argument("--pong-timeout", type=float, default=600.0, help="close when no pong within, seconds")
    b.add_argument(
        "--legacy-urls",
        action="store_true",
        help="serve every stream on every websocket route and the unrouted root (before the 2026 split)",
    )
    b.add_argument("--log-level", default="WARNING")
    x = sub.add_parser("bingx", help="BingX USDT-M perpetual swaps dialect")
    x.add_argument("--host", default="127.0.0.1")
    x.add_argument("--port", type=int, default=0, help="0 picks a free port")
    x.add_argument("--seed", type=int, default=1)
    x.add_argument("--listen-key-ttl", type=float, default=3600.0, help="listen key lifetime, seconds")
    x.add_argument("--max-connection-age", type=float, default=86_400.0, help="websocket lifetime, seconds")
    x.add_argument("--step-interval", type=float, default=0.1, help="market step period, seconds")
    x.add_argument("--ping-interval", type=float, default=5.0, help="server 'Ping' period, seconds")
    x.add_argument("--pong-timeout", type=float, default=60.0, help="close when no 'Pong' within, seconds")
    x.add_argument(
        "--duplicate-trade-every", type=int, default=50, help="send every n-th @trade frame twice (0 off)"
    )
    x.add_argument("--log-level", default="WARNING")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    extra: dict[str, Any] = (
        {"rate_limit_weight": args.rate_limit_weight, "legacy_urls": args.legacy_urls}
        if args.venue == "binance-futures"
        else {"duplicate_trade_every": args.duplicate_trade_every}
    )
    async with SimVenue(
        args.venue,
        host=args.host,
        port=args.port,
        seed=args.seed,
        listen_key_ttl=args.listen_key_ttl,
        max_connection_age=args.max_connection_age,
        step_interval=args.step_interval,
        ping_interval=args.ping_interval,
        pong_timeout=args.pong_timeout,
        **extra,
    ) as sim:
        sys.stdout.write(json.dumps(sim.info()) + "\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
