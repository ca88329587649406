"""Reading the execution client's health metrics (the docs' operations page shows this function).

``client`` is the running ``BinanceFuturesExecutionClient`` (``bingx_health``: ``BingxExecutionClient``);
in a TradingNode find it with ``node.kernel.exec_engine`` or keep a reference from your own factory.
``tests/docs`` calls both after a recovery and checks the numbers.
"""

from __future__ import annotations

from typing import Any

from adapters.binance_futures.execution import BinanceFuturesExecutionClient
from adapters.bingx.execution import BingxExecutionClient


# --8<-- [start:health]
def health(client: BinanceFuturesExecutionClient) -> dict[str, Any]:
    """A plain dict of the user stream's health, cheap enough to poll every few seconds."""
    service = client.user_stream
    recovery = service.ctx.metrics  # RecoveryMetrics
    keepalive = service.keeper.metrics  # KeepaliveMetrics
    stream = service.ctx.stream  # the current WsConnection (None while disconnected)
    dispatcher = service.ctx.dispatcher  # the current Dispatcher
    ws = getattr(stream, "metrics", None)  # WsMetrics
    out: dict[str, Any] = {
        "recovery_runs": recovery.runs,
        "recovery_failures": recovery.failures,
        "recovery_in_progress": recovery.in_progress,
        "recovery_last_reasons": recovery.last_reasons,
        "recovery_last_total_s": recovery.last_timing.total if recovery.last_timing else None,
        "keepalive_failures": keepalive.failures,
        "socket_state": ws.state.value if ws else "none",
        "socket_frames_in": ws.frames_in if ws else 0,
        "socket_last_pong_rtt_s": ws.last_pong_rtt if ws else None,
        "dispatch_frames": dispatcher.metrics.frames if dispatcher else 0,
        "dispatch_errors": dispatcher.metrics.errors if dispatcher else 0,
        "dispatch_mean_us": dispatcher.metrics.mean_handle_us if dispatcher else 0.0,
        "duplicate_fills_dropped": client.facts.duplicates_dropped,
        "terminals_held_for_fills": client.facts.terminals_held,
        "malformed_frames": client.stream_handler.malformed,
        "ambiguous_resolved": dict(client.resolutions),
    }
    if client.ws_trading is not None:  # use_ws_trading=True
        out["ws_trading_healthy"] = client.ws_trading.health().is_healthy
        out["ws_trading_fallbacks"] = client.ws_trading.metrics().fallbacks
    return out


# --8<-- [end:health]


# --8<-- [start:bingx_health]
def bingx_health(client: BingxExecutionClient) -> dict[str, Any]:
    """BingX: the same user-stream metrics, plus rotation keys and the REST poll."""
    recovery = client.user_stream.ctx.metrics  # RecoveryMetrics (same core as Binance)
    poller = client.poller  # RestPollFailover; None with poll_failover=False and poll_only=False
    return {
        "recovery_runs": recovery.runs,
        "recovery_failures": recovery.failures,
        "recovery_last_reasons": recovery.last_reasons,
        "listen_keys_created": client.stream_ops.keys_created,
        "listen_keys_retired": client.stream_ops.keys_retired,  # old keys deleted after rotations
        "polls": poller.polls if poller else 0,  # failover and audit polls that succeeded
        "poll_failures": poller.failures if poller else 0,
        "fills_fetched_by_rest": client.stream_handler.missing_last_fill,  # pushes without a fill
        "duplicate_fills_dropped": client.facts.duplicates_dropped,
        "malformed_frames": client.stream_handler.malformed,
    }


# --8<-- [end:bingx_health]
