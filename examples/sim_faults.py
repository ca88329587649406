"""The simulator's control routes over HTTP: fire faults and read the venue's ground truth.

    .venv/bin/python -m examples.sim_faults

Starts a simulator in-process, then uses nothing but HTTP, exactly as you would against
``python -m adapters.sim binance-futures`` (take ``rest`` from its JSON line). ``tests/docs`` runs it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp

from adapters.sim.server import SimVenue


# --8<-- [start:http]
async def fire_faults(rest: str) -> dict[str, Any]:
    """``rest`` is the simulator's REST base URL (``"rest"`` in its JSON line)."""
    async with aiohttp.ClientSession() as http:

        async def sim(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            async with http.request(method, f"{rest}{path}", json=body) as resp:
                resp.raise_for_status()
                return await resp.json()

        # The next 2 order placements fail with 503 *after* the venue executed them (ambiguous).
        await sim("POST", "/sim/fail", {"method": "POST", "path": "/fapi/v1/order", "count": 2,
                                        "status": 503, "after_execute": True})  # fmt: skip
        await sim("POST", "/sim/latency", {"rest_ms": 50})  # every REST response 50 ms late
        await sim("POST", "/sim/user-events", {"duplicate": True, "reorder": True})
        await sim("POST", "/sim/price", {"symbol": "BTCUSDT", "price": "65000"})
        await sim("POST", "/sim/streams/drop?kind=user")  # abort user sockets (none open here)
        state = await sim("GET", "/sim/state")  # the venue's ground truth
        await sim("POST", "/sim/reset-faults")  # back to a healthy venue
        return state


# --8<-- [end:http]


# --8<-- [start:inprocess]
async def main() -> int:
    async with SimVenue(seed=7, step_interval=3600.0) as sim:
        print(sim.rest_url, sim.ws_url, sim.api_key)  # URLs and the default account's key
        sim.faults.set_latency(rest_ms=0)  # the same operations as the /sim routes, in Python
        state = await fire_faults(sim.rest_url)
        summary = {
            "markets": state["markets"]["BTCUSDT"],
            "fail_rules": state["faults"]["fail_rules"],
            "counters": state["faults"]["counters"],
        }
        print(json.dumps(summary, indent=2))
    return 0


# --8<-- [end:inprocess]


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
