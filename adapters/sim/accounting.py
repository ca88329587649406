"""Request accounting for ``/sim/state``: how many requests (and how much Binance request
weight) each endpoint received since the venue started.

Never reset (not even by ``/sim/reset-faults``), so a test takes a snapshot before and after a
scenario and asserts on the difference, e.g. "the recovery after this drop used at most N
weight". Keys are ``"METHOD /path"`` for REST and ``"WS <method>"`` for the Binance WebSocket
trading API; requests to paths the venue does not serve are counted under ``"other"`` so that a
fuzzer cannot grow the table without bound.
"""

from __future__ import annotations

import collections
from typing import Any

OTHER = "other"


class RequestLog:
    def __init__(self) -> None:
        self.requests: collections.Counter[str] = collections.Counter()
        self.weight: collections.Counter[str] = collections.Counter()

    def count(self, key: str) -> None:
        self.requests[key] += 1

    def add_weight(self, key: str, weight: int) -> None:
        if weight:
            self.weight[key] += weight

    def snapshot(self) -> dict[str, Any]:
        keys = sorted(set(self.requests) | set(self.weight))
        return {
            "total_requests": sum(self.requests.values()),
            "total_weight": sum(self.weight.values()),
            "by_endpoint": {k: {"requests": self.requests[k], "weight": self.weight[k]} for k in keys},
        }
