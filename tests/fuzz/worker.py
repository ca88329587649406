"""One target's fuzz campaign in its own process: a fork server around the executors.

The worker imports the target once, then forks an *executor* that runs cases until the deadline.
Before each case the executor writes it to ``current.json`` (write-ahead), so when the Rust core
aborts the executor (or anything else kills it) the worker still knows the exact input: it records an
``abort`` finding with the panic message and the Python stack (``faulthandler``), and forks a new
executor that continues with the next case. Python-level findings are appended by the executor to
``findings.jsonl``. After the deadline every distinct finding is minimized (ops dropped one at a
time, each candidate run in a forked executor too) and written to ``final/``.

Run by :mod:`tests.fuzz.runner`; by hand: ``python -m tests.fuzz.worker --target NAME --seconds 10``.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.fuzz.base import ABORT, HANG, HARNESS, Case, Finding, Target, location

PER_CASE_TIMEOUT = 10.0
HYPOTHESIS_BATCH = 40
RANDOM_BATCH = 120


class Hang(BaseException):
    """Raised by the per-case alarm (a BaseException: targets catch Exception only)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang()


def sig_hash(signature: str) -> str:
    return hashlib.sha1(signature.encode()).hexdigest()[:10]


# --------------------------------------------------------------------------------------------------
# Abort analysis
# --------------------------------------------------------------------------------------------------

_PANIC = re.compile(r"panicked at ([^\n]+?):(\d+):\d+:\n([^\n]*)")
_PYFRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def describe_abort(stderr: str, status: int) -> tuple[str, str]:
    """(dedup location, detail) of a dead executor from its stderr."""
    how = (
        f"signal {signal.Signals(os.WTERMSIG(status)).name}"
        if os.WIFSIGNALED(status)
        else f"exit {os.WEXITSTATUS(status)}"
    )
    panic = _PANIC.search(stderr)
    panic_where = ""
    message = ""
    if panic:
        message = panic.group(3).strip()
        norm = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "<v>", message)
        norm = re.sub(r"\d+", "N", norm)[:90]
        panic_where = f"{panic.group(1)}: {norm}"
    frame = ""
    for m in _PYFRAME.finditer(stderr):
        path = m.group(1)
        if "/adapters/" in path:
            frame = f"{path[path.find('adapters/') :]}:{m.group(2)} ({m.group(3)})"
            break
    if not frame:
        for m in _PYFRAME.finditer(stderr):
            path = m.group(1)
            if "/tests/fuzz/" in path:
                frame = f"{path[path.find('tests/') :]}:{m.group(2)} ({m.group(3)})"
                break
    where = " | ".join(x for x in (frame, panic_where or how) if x)
    detail = f"{how}; {message or 'no panic message'}"
    return where, detail


# --------------------------------------------------------------------------------------------------
# Executor (the forked child)
# --------------------------------------------------------------------------------------------------


class Executor:
    def __init__(self, target: Target, workdir: Path) -> None:
        self.target = target
        self.workdir = workdir
        self.current_fd = os.open(workdir / "current.json", os.O_RDWR | os.O_CREAT, 0o644)
        self.findings_fd = os.open(workdir / "findings.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.seen: set[str] = set()

    def write_ahead(self, i: int, mode: str, case: Case) -> None:
        data = json.dumps({"i": i, "mode": mode, "case": case}).encode()
        os.pwrite(self.current_fd, data, 0)
        os.ftruncate(self.current_fd, len(data))

    def run_case(self, case: Case) -> list[Finding]:
        signal.setitimer(signal.ITIMER_REAL, PER_CASE_TIMEOUT)
        try:
            return self.target.execute(case)
        except Hang:
            return [Finding(HANG, "per-input time limit", f"> {PER_CASE_TIMEOUT}s")]
        except Exception as exc:  # the harness's own bug, never the target's: reported apart
            return [Finding(HARNESS, location(exc.__traceback__, exc), f"{type(exc).__name__}: {exc!s:.300}")]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def record(self, i: int, mode: str, case: Case, findings: list[Finding]) -> None:
        for f in findings:
            sig = f.signature(self.target.name)
            if sig in self.seen:
                continue
            self.seen.add(sig)
            line = (
                json.dumps({"signature": sig, **f.to_json(), "i": i, "mode": mode, "case": case}).encode()
                + b"\n"
            )
            os.write(self.findings_fd, line)


def _prepare_child(workdir: Path) -> None:
    fd = os.open(workdir / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    faulthandler.enable(file=sys.stderr, all_threads=False)
    signal.signal(signal.SIGALRM, _on_alarm)
    # Quiet logs: the adapters log every malformed frame (that is their job); findings are ours.
    import logging

    logging.disable(logging.CRITICAL)


def fuzz_loop(
    target: Target, workdir: Path, seed: int, start: int, deadline: float, hyp_share: float, limit: int = 0
) -> int:
    """Cases from ``start`` until the deadline (or ``limit`` cases, when set: random cases are a function
    of ``(seed, i)``, so a limited run without hypothesis is the same run on every machine)."""
    ex = Executor(target, workdir)
    i = start
    strategy = target.hypothesis_case() if hyp_share > 0 else None
    batch = start // (RANDOM_BATCH + HYPOTHESIS_BATCH)
    while time.monotonic() < deadline and not (limit and i >= limit):
        use_hyp = strategy is not None and random.Random(f"{seed}:b{batch}").random() < hyp_share
        batch += 1
        if use_hyp:
            i = _hypothesis_batch(ex, strategy, seed * 100_003 + batch, i, deadline)
            continue
        for _ in range(RANDOM_BATCH):
            if time.monotonic() >= deadline or (limit and i >= limit):
                break
            try:
                case = target.random_case(random.Random(f"{seed}:{i}"))
            except Exception as exc:
                ex.record(
                    i, "random", {}, [Finding(HARNESS, location(exc.__traceback__, exc), repr(exc)[:300])]
                )
                i += 1
                continue
            ex.write_ahead(i, "random", case)
            ex.record(i, "random", case, ex.run_case(case))
            i += 1
    return i


def _hypothesis_batch(ex: Executor, strategy: Any, batch_seed: int, i: int, deadline: float) -> int:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    counter = [i]

    @hseed(batch_seed)
    @settings(
        max_examples=HYPOTHESIS_BATCH,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(strategy)
    def one(case: Case) -> None:
        if time.monotonic() >= deadline:
            return
        n = counter[0]
        ex.write_ahead(n, "hypothesis", case)
        ex.record(n, "hypothesis", case, ex.run_case(case))
        counter[0] = n + 1

    with contextlib.suppress(Exception):
        one()
    return counter[0]


# --------------------------------------------------------------------------------------------------
# Worker (the fork server)
# --------------------------------------------------------------------------------------------------


class Worker:
    def __init__(self, target: Target, workdir: Path) -> None:
        self.target = target
        self.workdir = workdir
        self.aborts: list[dict[str, Any]] = []
        self.restarts = 0

    def _read_current(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.workdir / "current.json").read_text())
        except (OSError, ValueError):
            return None

    def _stderr(self) -> str:
        try:
            return (self.workdir / "stderr.txt").read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def fuzz(self, seed: int, seconds: float, hyp_share: float, limit: int = 0) -> int:
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline and not (limit and i >= limit):
            with contextlib.suppress(OSError):
                (self.workdir / "current.json").unlink()
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    _prepare_child(self.workdir)
                    end = fuzz_loop(self.target, self.workdir, seed, i, deadline, hyp_share, limit)
                    (self.workdir / "done.json").write_text(json.dumps({"i": end}))
                except BaseException:
                    import traceback

                    traceback.print_exc()
                    code = 70
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            cur = self._read_current()
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                try:
                    i = json.loads((self.workdir / "done.json").read_text())["i"]
                except (OSError, ValueError, KeyError):
                    i = (cur["i"] + 1) if cur else i
                break
            self.restarts += 1
            where, detail = describe_abort(self._stderr(), status)
            if cur is None:
                # Died outside a case (harness): record once and stop rather than loop.
                self.aborts.append(
                    {
                        "signature": f"{self.target.name}|{ABORT}|harness: {where}",
                        "kind": ABORT,
                        "where": f"harness: {where}",
                        "detail": detail + "\n" + self._stderr()[-3000:],
                        "i": i,
                        "mode": "?",
                        "case": None,
                    }
                )
                break
            f = Finding(ABORT, where, detail)
            self.aborts.append(
                {
                    "signature": f.signature(self.target.name),
                    **f.to_json(),
                    "i": cur["i"],
                    "mode": cur["mode"],
                    "case": cur["case"],
                    "stderr": self._stderr()[-4000:],
                }
            )
            i = cur["i"] + 1
        return i

    # -- single runs (minimization) ---------------------------------------------------------------
    def run_isolated(self, case: Case) -> set[str]:
        """Signatures ``case`` produces, run in a forked executor (an abort is observed, not suffered)."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 0
            try:
                _prepare_child(self.workdir)
                ex = Executor(self.target, self.workdir)
                ex.write_ahead(-1, "minimize", case)
                sigs = [f.signature(self.target.name) for f in ex.run_case(case)]
                os.write(w, json.dumps(sigs).encode())
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        os.close(w)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return set(json.loads(b"".join(chunks) or b"[]"))
        where, _ = describe_abort(self._stderr(), status)
        return {Finding(ABORT, where).signature(self.target.name)}

    def minimize(self, signature: str, case: Case, deadline: float) -> Case:
        changed = True
        while changed and time.monotonic() < deadline:
            changed = False
            for cand in self.target.shrink(case):
                if time.monotonic() >= deadline:
                    break
                if signature in self.run_isolated(cand):
                    case = cand
                    changed = True
                    break
        return case


def collect(workdir: Path, aborts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """First occurrence of each signature (executors restart, so the file may repeat them)."""
    out: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    path = workdir / "findings.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    for rec in [json.loads(x) for x in lines if x.strip()] + aborts:
        sig = rec["signature"]
        counts[sig] = counts.get(sig, 0) + 1
        out.setdefault(sig, rec)
    for sig, rec in out.items():
        rec["hits"] = counts[sig]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--target", required=True)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    p.add_argument("--minimize-seconds", type=float, default=0.0)
    p.add_argument("--hypothesis-share", type=float, default=0.3)
    p.add_argument("--max-cases", type=int, default=0, help="stop after this many cases (0: the deadline)")
    args = p.parse_args(argv)

    from tests.fuzz.targets import make_target

    target = make_target(args.target)
    workdir = args.out / "work" / target.name
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("findings.jsonl", "done.json", "current.json", "stderr.txt"):
        with contextlib.suppress(OSError):
            (workdir / name).unlink()
    target.setup()
    worker = Worker(target, workdir)
    started = time.monotonic()
    inputs = worker.fuzz(args.seed, args.seconds, args.hypothesis_share, args.max_cases)
    fuzz_secs = time.monotonic() - started

    findings = collect(workdir, worker.aborts)
    final = args.out / target.name
    shutil.rmtree(final, ignore_errors=True)  # this run's findings only (no stale reproducers)
    final.mkdir(parents=True, exist_ok=True)
    min_deadline = time.monotonic() + args.minimize_seconds
    results = []
    for sig, rec in sorted(findings.items()):
        case = rec.get("case")
        minimized = False
        if case is not None and args.minimize_seconds > 0 and time.monotonic() < min_deadline:
            per = max(1.0, (min_deadline - time.monotonic()) / max(1, len(findings)))
            small = worker.minimize(sig, case, min(min_deadline, time.monotonic() + per))
            minimized = small != case
            case = small
        d = final / f"{rec['kind']}-{sig_hash(sig)}"
        d.mkdir(parents=True, exist_ok=True)
        info = {k: v for k, v in rec.items() if k != "case"}
        info["minimized"] = minimized
        (d / "finding.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
        (d / "case.json").write_text(json.dumps(case, indent=1, ensure_ascii=False))
        if case is not None:
            with contextlib.suppress(Exception):
                frame = target.frame_bytes(case)
                if frame is not None:
                    (d / "input.bin").write_bytes(frame)
        results.append({**info, "dir": str(d)})
    stats = {
        "target": target.name,
        "inputs": inputs,
        "fuzz_seconds": round(fuzz_secs, 2),
        "inputs_per_second": round(inputs / fuzz_secs, 1) if fuzz_secs > 0 else 0.0,
        "executor_restarts": worker.restarts,
        "findings": results,
    }
    (final / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False))
    print(json.dumps({"target": target.name, "inputs": inputs, "findings": len(results)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
