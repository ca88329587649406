"""Replay fuzz cases of one target, each in a forked executor (an abort is a result, not a crash).

    python -m tests.fuzz.replay TARGET < cases.json   ->   [[signature, ...], ...] on stdout

Used by ``test_regressions.py``: one process per target runs every pinned case of that target.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def main() -> int:
    from tests.fuzz.targets import make_target
    from tests.fuzz.worker import Worker

    target = make_target(sys.argv[1])
    cases = json.loads(sys.stdin.read())
    target.setup()
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker(target, Path(tmp))
        results = [sorted(worker.run_isolated(case)) for case in cases]
    sys.stdout.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
