"""Generate the catalogue of WARNING/ERROR log messages in ``docs/reference/log-messages.md``.

Every ``.warning(...)``, ``.error(...)``, ``.exception(...)`` and ``.critical(...)`` call in the adapters
(``adapters/`` minus the simulator and the test kit; not the exception built in a ``raise``) is found by
parsing the source, and its message is
normalised: every placeholder (``%s``, ``%r``, ``%.1f``, an f-string field) becomes ``…``. Each message
must have an entry in ``docs/log_messages.toml`` (where, text, meaning, action): a new log call without
one fails the generator (and the docs test), and so does an entry whose log call is gone.

    .venv/bin/python docs/gen_log_reference.py           # rewrite the page
    .venv/bin/python docs/gen_log_reference.py --check   # exit 1 if the page is stale
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "adapters"
EXCLUDE = ("sim", "testkit")
TABLE = Path(__file__).resolve().parent / "log_messages.toml"
OUTPUT = Path(__file__).resolve().parent / "reference" / "log-messages.md"

LEVELS = {"warning": "WARNING", "error": "ERROR", "exception": "ERROR", "critical": "CRITICAL"}
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-+ #0]*\d*(?:\.\d+)?[sdrfigxX%]")
_ELLIPSES = re.compile(r"(?:…\s*)+…")


@dataclass(frozen=True, slots=True)
class LogCall:
    where: str  # "core/userstream/recovery.py:recover_once"
    level: str
    text: str  # normalised message
    line: int


def _normalise_constant(s: str) -> str:
    return _PERCENT.sub(lambda m: "%" if m.group(0) == "%%" else "…", s)


def _message(node: ast.expr) -> str | None:
    """The normalised message of a log call's first argument; None if it is not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = _normalise_constant(node.value)
    elif isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append("…")
        text = "".join(parts)
    else:
        return None
    return _ELLIPSES.sub("…", " ".join(text.split()))


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.scope: list[str] = []
        self.calls: list[LogCall] = []
        self._raised: set[int] = set()

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Raise(self, node: ast.Raise) -> None:
        # `raise errors.error("...")` builds an exception, it logs nothing: not a log call.
        if isinstance(node.exc, ast.Call):
            self._raised.add(id(node.exc))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        is_log = isinstance(func, ast.Attribute) and func.attr in LEVELS and bool(node.args)
        if is_log and id(node) not in self._raised:
            text = _message(node.args[0])
            if text is not None:
                # The innermost function (not the class) names the place; nested helpers keep theirs.
                where = f"{self.module}:{self.scope[-1] if self.scope else '<module>'}"
                self.calls.append(LogCall(where, LEVELS[func.attr], text, node.lineno))
        self.generic_visit(node)


def find_log_calls() -> list[LogCall]:
    calls: list[LogCall] = []
    for path in sorted(SOURCE.rglob("*.py")):
        rel = path.relative_to(SOURCE)
        if rel.parts[0] in EXCLUDE:
            continue
        finder = _Finder(rel.as_posix())
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        calls.extend(finder.calls)
    # One row per (place, message): the same message logged twice in one function is one entry.
    unique: dict[tuple[str, str], LogCall] = {}
    for call in calls:
        unique.setdefault((call.where, call.text), call)
    return list(unique.values())


def load_table() -> dict[tuple[str, str], dict[str, str]]:
    entries = tomllib.loads(TABLE.read_text())["message"]
    table: dict[tuple[str, str], dict[str, str]] = {}
    for entry in entries:
        key = (entry["where"], entry["text"])
        if key in table:
            raise SystemExit(f"{TABLE.name}: duplicate entry {key}")
        missing = {"meaning", "action"} - entry.keys()
        if missing:
            raise SystemExit(f"{TABLE.name}: entry {key} lacks {sorted(missing)}")
        table[key] = entry
    return table


def _cell(text: str) -> str:
    # Pipes inside code spans do not split a table cell (and an escape would show); outside them they would.
    parts = text.split("`")
    parts[::2] = [p.replace("|", "\\|") for p in parts[::2]]
    return " ".join("`".join(parts).split())


def render() -> str:
    calls = find_log_calls()
    table = load_table()
    found = {(c.where, c.text) for c in calls}
    undocumented = [c for c in calls if (c.where, c.text) not in table]
    stale = sorted(k for k in table if k not in found)
    problems = []
    for c in undocumented:
        problems.append(
            f"undocumented log message (add it to docs/{TABLE.name}):\n"
            f'  [[message]]\n  where = "{c.where}"\n  text = "{c.text}"\n'
            f"  # adapters/{c.where.split(':')[0]} line {c.line}, level {c.level}"
        )
    for where, text in stale:
        problems.append(f"stale entry in docs/{TABLE.name} (no such log call any more): {where} {text!r}")
    if problems:
        raise SystemExit("\n".join(problems))

    order = {"core": 0, "binance_futures": 1, "bingx": 2}
    calls.sort(key=lambda c: (order.get(c.where.split("/")[0], 9), c.where.split(":")[0], c.line))
    out = [
        "<!-- GENERATED by docs/gen_log_reference.py from the adapters' source and docs/log_messages.toml."
        " Do not edit. -->",
        "",
        "# Log messages",
        "",
        "Every WARNING and ERROR message the clients can log, found in the source, with what it means",
        "and what to do. `…` stands for a value filled in at run time (a name, an id, an exception).",
        "Messages are prefixed with the component's name, e.g. `BINANCE-user-stream: ` for the user stream",
        "of the client registered as `BINANCE`.",
        "",
    ]
    section = None
    titles = {
        "core": "Core (every venue)",
        "binance_futures": "Binance USD-M Futures",
        "bingx": "BingX",
    }
    for c in calls:
        package = c.where.split("/")[0]
        if package != section:
            section = package
            out += [
                f"## {titles.get(package, package)}",
                "",
                "| level | message | where | meaning | what to do |",
                "|---|---|---|---|---|",
            ]
        entry = table[(c.where, c.text)]
        out.append(
            f"| {c.level} | `{c.text}` | `{c.where}` | {_cell(entry['meaning'])} | {_cell(entry['action'])} |"
        )
        nxt = calls.index(c) + 1
        if nxt == len(calls) or calls[nxt].where.split("/")[0] != package:
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run .venv/bin/python docs/gen_log_reference.py")
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
