"""``make fuzz``: every target for the configured time, each in its own worker process.

    python -m tests.fuzz.runner --seconds 600 [--targets binance-user,sim] [--seed 1] [--jobs 2]

``--seconds`` is the wall-clock budget of the whole run. It is split across the targets by weight
(``--jobs`` workers at a time, so each target gets ``seconds * jobs * weight / sum(weights)``; the
last 15 % of a target's share, up to 60 s, goes to minimizing its findings). Findings go to
``--out`` (default ``fuzz-findings/``, git-ignored): ``<target>/<kind>-<hash>/`` holds
``finding.json`` (kind, location, detail, how often it was hit), ``case.json`` (the minimized case:
replay it with :func:`replay`) and ``input.bin`` (the wire bytes). ``SUMMARY.md`` and
``summary.json`` sum it up: inputs tried per target, findings by kind, the reproducers.
Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.fuzz.base import REPO, Case, Finding
from tests.fuzz.targets import TARGET_NAMES, make_target

WEIGHTS = {
    "binance-user": 1.4,
    "bingx-user": 1.2,
    "binance-market": 1.2,
    "bingx-market": 1.0,
    "binance-http": 0.8,
    "bingx-http": 0.8,
    "sim": 0.6,
}


def budgets(targets: list[str], seconds: float, jobs: int) -> dict[str, float]:
    total = sum(WEIGHTS[t] for t in targets)
    slots = min(jobs, len(targets))
    return {t: max(1.0, seconds * slots * WEIGHTS[t] / total) for t in targets}


def run_campaign(
    targets: list[str],
    seconds: float,
    *,
    seed: int = 1,
    out: Path = REPO / "fuzz-findings",
    jobs: int = 2,
    minimize: bool = True,
    hypothesis_share: float = 0.3,
    quiet: bool = False,
    max_cases: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Fuzz ``targets`` for ``seconds`` in ``jobs`` worker processes. ``max_cases`` caps a target's cases
    (``seconds`` then only bounds a slow machine)."""
    out.mkdir(parents=True, exist_ok=True)
    plan = budgets(targets, seconds, jobs)
    pending = list(targets)
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    started = time.monotonic()
    env = {**os.environ, "PYTHONHASHSEED": "0", "RUST_BACKTRACE": "0"}
    while pending or running:
        while pending and len(running) < jobs:
            t = pending.pop(0)
            share = plan[t]
            min_secs = min(60.0, 0.15 * share) if minimize else 0.0
            cmd = [
                sys.executable,
                "-m",
                "tests.fuzz.worker",
                "--target",
                t,
                "--seconds",
                f"{share - min_secs:.1f}",
                "--seed",
                str(seed),
                "--out",
                str(out),
                "--minimize-seconds",
                f"{min_secs:.1f}",
                "--hypothesis-share",
                str(hypothesis_share),
                "--max-cases",
                str((max_cases or {}).get(t, 0)),
            ]
            log = open(out / f"{t}.log", "wb")  # noqa: SIM115 - closed with the process
            running[t] = (
                subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT),
                share,
            )
            if not quiet:
                print(f"fuzz: {t} for {share:.0f}s", flush=True)
        time.sleep(0.2)
        for t, (proc, share) in list(running.items()):
            if proc.poll() is None and time.monotonic() - started > seconds * 3 + share + 120:
                proc.kill()  # a worker that overstays its budget by far is stuck: do not wait forever
            if proc.poll() is not None:
                del running[t]
    summary = summarize(out, targets, time.monotonic() - started)
    if not quiet:
        print((out / "SUMMARY.md").read_text())
    return summary


def summarize(out: Path, targets: list[str], wall: float) -> dict[str, Any]:
    per_target: dict[str, Any] = {}
    all_findings: list[dict[str, Any]] = []
    for t in targets:
        path = out / t / "stats.json"
        if not path.exists():
            per_target[t] = {"inputs": 0, "error": f"worker produced no stats (see {out / (t + '.log')})"}
            all_findings.append(
                {
                    "signature": f"{t}|worker-failed|",
                    "kind": "worker-failed",
                    "where": "",
                    "detail": (out / f"{t}.log").read_text(errors="replace")[-2000:]
                    if (out / f"{t}.log").exists()
                    else "",
                    "target": t,
                }
            )
            continue
        stats = json.loads(path.read_text())
        per_target[t] = {
            k: stats[k] for k in ("inputs", "fuzz_seconds", "inputs_per_second", "executor_restarts")
        }
        for f in stats["findings"]:
            all_findings.append({**f, "target": t})
    by_kind = Counter(f["kind"] for f in all_findings)
    summary = {
        "wall_seconds": round(wall, 1),
        "targets": per_target,
        "findings_by_kind": dict(by_kind),
        "findings": all_findings,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    lines = [
        f"# Fuzz run ({wall:.0f} s wall)",
        "",
        "| target | inputs | inputs/s | executor restarts | findings |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for t, s in per_target.items():
        n = sum(1 for f in all_findings if f["target"] == t)
        lines.append(
            f"| {t} | {s.get('inputs', 0)} | {s.get('inputs_per_second', 0)} | "
            f"{s.get('executor_restarts', 0)} | {n} |"
        )
    lines += ["", "## Findings by kind", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(by_kind.items())] or ["- none"]
    lines += ["", "## Findings", ""]
    for f in sorted(all_findings, key=lambda f: (f["target"], f["kind"], f.get("where", ""))):
        rel = os.path.relpath(f["dir"], REPO) if f.get("dir") else ""
        lines.append(f"- **{f['target']}** `{f['kind']}` {f.get('where', '')} (hits {f.get('hits', 1)})  ")
        lines.append(f"  {str(f.get('detail', '')).splitlines()[0][:200] if f.get('detail') else ''}  ")
        if rel:
            lines.append(f"  reproducer: `{rel}/`")
    (out / "SUMMARY.md").write_text("\n".join(lines) + "\n")
    return summary


def replay(target_name: str, case: Case) -> list[Finding]:
    """Run one case in this process (an abort kills it: use for Python-level findings, or in a child)."""
    target = make_target(target_name)
    target.setup()
    return target.execute(case)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=600.0)
    p.add_argument("--targets", default="", help=f"comma-separated subset of: {', '.join(TARGET_NAMES)}")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=REPO / "fuzz-findings")
    p.add_argument("--no-minimize", action="store_true")
    p.add_argument("--replay", type=Path, help="a case.json to run again (in a child process)")
    args = p.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t] or list(TARGET_NAMES)
    for t in targets:
        if t not in TARGET_NAMES:
            p.error(f"unknown target {t!r}")
    if args.replay is not None:
        return _replay_file(targets[0], args.replay)
    summary = run_campaign(
        targets, args.seconds, seed=args.seed, out=args.out, jobs=args.jobs, minimize=not args.no_minimize
    )
    return 1 if summary["findings"] else 0


def _replay_file(target: str, path: Path) -> int:
    code = (
        "import json,sys\nfrom tests.fuzz.runner import replay\n"
        f"fs = replay({target!r}, json.load(open({str(path)!r})))\n"
        "[print(f) for f in fs]\nsys.exit(1 if fs else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO)
    if proc.returncode < 0:
        print(f"the child died: signal {-proc.returncode} (an abort reproduces)")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
