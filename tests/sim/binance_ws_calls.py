"""Requests to the simulator's WebSocket trading API (``/ws-fapi/v1``) as a client sends them:
HMAC-signed parameters and one request matched with its answer by id."""

from __future__ import annotations

import itertools
import time
from typing import Any

from adapters.sim.binance.signing import hmac_sha256_hex, ws_sign_payload
from adapters.sim.server import SimVenue

_ids = itertools.count(1)


def hmac_params(sim: SimVenue, **params: Any) -> dict[str, Any]:
    params = {"apiKey": sim.api_key, "timestamp": int(time.time() * 1000), **params}
    params["signature"] = hmac_sha256_hex(sim.api_secret, ws_sign_payload(params))
    return params


async def call(ws: Any, json_next: Any, method: str, params: dict[str, Any] | None = None) -> Any:
    req_id = f"req-{next(_ids)}"
    await ws.send_json({"id": req_id, "method": method, "params": params or {}})
    return await json_next(ws, lambda m: m.get("id") == req_id)
