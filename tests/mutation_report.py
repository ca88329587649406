"""``make mutation``'s verdict: the kill rate of each mutated module, its surviving mutants, and an
exit status that fails below the threshold on any one module.

Reads the results ``mutmut run`` left in ``mutants/`` (one ``<module>.py.meta`` per mutated module,
mapping each mutant to the exit code of the tests that ran against it). *Killed* counts mutants
the tests failed on and those that timed out (a mutant that makes a bounded operation hang is
caught by its bound); every other verdict — survived, no tests covering it, suspicious, not
checked — counts against the module. Run from the repository root:

    python -m tests.mutation_report [--threshold 90] [--diff]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

# mutmut's exit-code vocabulary (mutmut.stats.status_by_exit_code), restated so that reading the
# results needs no mutmut import (which reads its configuration from the current directory).
_KILLED = {1, 3}
_TIMEOUT = {36, 24, -24, 152, 255}
_STATUS = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", None: "not checked"}


def status(code: int | None) -> str:
    if code in _KILLED:
        return "killed"
    if code in _TIMEOUT:
        return "timeout"
    if code == 37:
        return "caught by type check"
    return _STATUS.get(code, "suspicious")


def modules(root: Path) -> list[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threshold", type=float, default=90.0, help="minimum kill rate per module, %%")
    parser.add_argument("--diff", action="store_true", help="print each survivor's diff (mutmut show)")
    args = parser.parse_args(argv)
    root = Path.cwd()
    failing: list[str] = []
    survivors: list[tuple[str, str]] = []
    print(
        f"{'module':<34} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'other':>6} {'rate':>7}"
    )
    for module in modules(root):
        meta = root / "mutants" / f"{module}.meta"
        if not meta.exists():
            print(f"{module:<34} no results (run `mutmut run` first)")
            failing.append(module)
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        counts: dict[str, int] = {}
        for name, code in sorted(codes.items()):
            verdict = status(code)
            counts[verdict] = counts.get(verdict, 0) + 1
            if verdict not in ("killed", "timeout", "caught by type check", "skipped"):
                survivors.append((name, verdict))
        total = len(codes) - counts.get("skipped", 0)
        caught = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("caught by type check", 0)
        survived = counts.get("survived", 0)
        other = total - caught - survived
        rate = 100.0 * caught / total if total else 100.0
        print(
            f"{module:<34} {total:>7} {counts.get('killed', 0):>7} {counts.get('timeout', 0):>7} "
            f"{survived:>8} {other:>6} {rate:>6.1f}%"
        )
        if rate < args.threshold:
            failing.append(module)
    if survivors:
        print(f"\n{len(survivors)} mutant(s) not killed (`mutmut show NAME` prints one):")
        for name, verdict in survivors:
            print(f"  {verdict:<12} {name}")
            if args.diff:
                shown = subprocess.run(
                    [sys.executable, "-m", "mutmut", "show", name],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                print("    " + shown.stdout.strip().replace("\n", "\n    "))
    if failing:
        print(f"\nbelow {args.threshold:.0f}% killed: {', '.join(failing)}")
        return 1
    print(f"\nevery module at or above {args.threshold:.0f}% killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
