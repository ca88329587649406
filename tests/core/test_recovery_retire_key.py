"""The optional ``retire_listen_key`` venue hook: called once per rotation that changed the key,
after the new stream dispatches; its failure never fails the rotation."""

from __future__ import annotations

import asyncio

from adapters.core.userstream.recovery import RecoveryCtx, RecoveryOptions, open_stream, recover_once
from tests.core.fakes import ScriptedVenue


class RetiringVenue(ScriptedVenue):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.retired: list[str] = []
        self.fail = fail

    async def retire_listen_key(self, key: str) -> None:
        self.log.append(f"retire:{key}")
        if self.fail:
            raise ConnectionError("venue down")
        self.retired.append(key)


async def _rotate(venue: ScriptedVenue) -> RecoveryCtx:
    ctx = RecoveryCtx(venue=venue, options=RecoveryOptions(overlap=True))
    venue.on_connect = lambda s: s.healthy.set()
    await open_stream(ctx)
    await recover_once(ctx, ["scheduled rotation"])
    return ctx


async def _close(ctx: RecoveryCtx) -> None:
    assert ctx.stream is not None and ctx.dispatcher is not None
    await ctx.stream.close()
    await asyncio.wait_for(ctx.dispatcher.join(), 2.0)


async def test_old_key_is_retired_after_the_swap() -> None:
    venue = RetiringVenue()
    ctx = await _rotate(venue)
    assert venue.retired == ["key-1"]
    assert ctx.listen_key == "key-2"
    assert venue.log.index("retire:key-1") > venue.log.index("connect:key-2")
    await _close(ctx)


async def test_a_failed_retire_does_not_fail_the_rotation() -> None:
    venue = RetiringVenue(fail=True)
    ctx = await _rotate(venue)
    assert ctx.metrics.runs == 1 and ctx.metrics.failures == 0
    assert ctx.listen_key == "key-2"
    await _close(ctx)


async def test_venues_without_the_hook_are_unaffected() -> None:
    venue = ScriptedVenue()
    ctx = await _rotate(venue)
    assert ctx.metrics.runs == 1 and not any(entry.startswith("retire") for entry in venue.log)
    await _close(ctx)
