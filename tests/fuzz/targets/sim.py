"""The simulator target: the seeded request fuzzer of ``tests/sim/test_fuzz.py``, run with fresh seeds.

One case is one short session (a fresh simulator, ``n`` mutated requests of one kind: Binance or
BingX REST, the /sim control routes, the Binance websockets or the BingX websocket). The fuzzer's own
assertions are the oracles (no 5xx without a JSON body, sockets still answering, the venue still
serving), plus: nothing logged at ERROR (aiohttp's "Error handling request", the simulator's safety
nets). The pytest versions keep their pinned seeds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from tests.fuzz.base import SIM, Case, Finding, Target, location

KINDS = ("binance_rest", "bingx_rest", "sim_routes", "binance_websockets", "bingx_websocket")


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class SimTarget(Target):
    name = "sim"
    description = "The simulator's seeded request fuzzer (tests/sim/test_fuzz.py) with fresh seeds"
    weight = 0.6

    def random_case(self, rng: random.Random) -> Case:
        kind = rng.choice(KINDS)
        return {"kind": kind, "seed": rng.randrange(2**31), "n": 25 if "websocket" in kind else 40}

    def shrink(self, case: Case) -> list[Case]:
        n = case["n"]
        return [{**case, "n": max(1, n // 2)}] if n > 1 else []

    def execute(self, case: Case) -> list[Finding]:
        from tests.sim import test_fuzz

        run = getattr(test_fuzz, f"run_{case['kind']}")
        handler = _ErrorRecords()
        root = logging.getLogger()
        logging.disable(logging.NOTSET)
        root.addHandler(handler)
        found: list[Finding] = []
        try:
            asyncio.run(run(case["seed"], case["n"]))
        except AssertionError as exc:
            found.append(
                Finding(
                    SIM, f"{case['kind']}: assertion at {location(exc.__traceback__, exc)}", str(exc)[:300]
                )
            )
        except Exception as exc:
            found.append(Finding(SIM, f"{case['kind']}: {location(exc.__traceback__, exc)}", repr(exc)[:300]))
        finally:
            root.removeHandler(handler)
            logging.disable(logging.CRITICAL)
        for r in handler.records[:1]:
            found.append(Finding(SIM, f"{case['kind']}: ERROR logged by {r.name}", r.getMessage()[:300]))
        return found

    def hypothesis_case(self) -> Any:
        return None
