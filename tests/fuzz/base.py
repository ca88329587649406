"""What every fuzz target provides, and what a finding is."""

from __future__ import annotations

import random
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

Case = dict[str, Any]

# Finding kinds (the oracles).
ABORT = "abort"  # the child process died (Rust panic -> abort, segfault, ...)
ESCAPE = "escape"  # an exception escaped the entry point
TASK_ENDED = "task-ended"  # a task that must keep running ended (the market dispatcher)
LOST_FILL = "lost-fill"  # a valid fill neither emitted nor counted as rejected, or lost on replay
WRONG_VALUE = "wrong-value"  # an emitted value that is not the strict reading of the wire field
BOOK_STALE = "book-stale"  # the book reports SYNCED but differs from the venue's book
HTTP_SUCCESS_ON_ERROR = "http-success-on-error"  # a 2xx venue error body returned as success
HTTP_UNTYPED = "http-untyped"  # an exception outside the typed error taxonomy escaped the client
STALL = "stall"  # an input that makes the client wait unboundedly (or raises on the wait)
HANG = "hang"  # one input took longer than the per-input limit
RESOURCE = "resource"  # one small input made the process allocate far too much
SIM = "sim"  # the simulator fuzzer's own assertions
HARNESS = "harness-error"  # a bug of the fuzz harness itself (not counted against the code)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    where: str  # code location or oracle key: part of the dedup signature
    detail: str = ""

    def signature(self, target: str) -> str:
        return f"{target}|{self.kind}|{self.where}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def location(tb: TracebackType | None, exc: BaseException | None = None) -> str:
    """Innermost frame in the adapters (else the innermost frame), ``path:line (function)``."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    pick = None
    for fr in frames:
        if "/adapters/" in fr.filename:
            pick = fr
    if pick is None and frames:
        pick = frames[-1]
    name = type(exc).__name__ if exc is not None else "?"
    if pick is None:
        return name
    path = pick.filename.split("/work/")[-1]
    for marker in ("adapters/", "tests/", "site-packages/"):
        i = path.find(marker)
        if i >= 0:
            path = path[i:]
            break
    return f"{name} at {path} ({pick.name})"


def line_of(tb: TracebackType | None) -> str:
    frames = [fr for fr in traceback.extract_tb(tb) if "/adapters/" in fr.filename] if tb is not None else []
    if not frames:
        return ""
    fr = frames[-1]
    return f"{fr.filename[fr.filename.find('adapters/') :]}:{fr.lineno}"


def escape_finding(exc: BaseException, what: str) -> Finding:
    return Finding(
        ESCAPE,
        location(exc.__traceback__, exc),
        f"{what}: {type(exc).__name__}: {exc!s:.300} [{line_of(exc.__traceback__)}]",
    )


class Target:
    """A fuzz target: how to make cases, and how to run one against its oracles."""

    name: ClassVar[str]
    description: ClassVar[str]
    # Roughly how much of the campaign's time this target gets (weights are normalized).
    weight: ClassVar[float] = 1.0

    def setup(self) -> None:
        """Imports and one-off state (run once per process, before forking executors)."""

    def random_case(self, rng: random.Random) -> Case:
        raise NotImplementedError

    def hypothesis_case(self) -> Any:
        """A hypothesis strategy of cases, or None when the target has none."""
        return None

    def execute(self, case: Case) -> list[Finding]:
        raise NotImplementedError

    def frame_bytes(self, case: Case) -> bytes | None:
        """The wire input of a case (saved next to the reproducer), when it has one."""
        return None

    def shrink(self, case: Case) -> list[Case]:
        """Smaller candidate cases (default: drop one op at a time)."""
        ops = case.get("ops") or []
        return [{**case, "ops": ops[:i] + ops[i + 1 :]} for i in range(len(ops))]
