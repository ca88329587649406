"""Generate ``docs/reference/configuration.md`` from the configuration classes themselves.

Fields, types and defaults come from the classes (``msgspec`` fields of the NautilusTrader configs, the
signatures of ``SimVenue`` and ``SimNode``, the simulator's ``argparse`` parser); the one-line description
of each comes from ``docs/config_fields.toml``. A field without a description fails the generator (and the
docs test), so a new field cannot ship undocumented; so does a description whose field is gone.

    .venv/bin/python docs/gen_config_reference.py           # rewrite the page
    .venv/bin/python docs/gen_config_reference.py --check   # exit 1 if the page is stale
"""

from __future__ import annotations

import argparse
import enum
import inspect
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

TABLE = Path(__file__).resolve().parent / "config_fields.toml"
OUTPUT = Path(__file__).resolve().parent / "reference" / "configuration.md"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str
    default: str


# --------------------------------------------------------------------------------------- rendering


def _type_name(tp: Any) -> str:
    if isinstance(tp, str):
        text = tp
    elif isinstance(tp, type):
        text = tp.__name__
    else:
        text = str(tp)
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    text = re.sub(r"<enum '(\w+)'>", r"\1", text)
    return re.sub(r"\b(?:[a-z_][\w]*\.)+([A-Za-z_]\w*)", r"\1", text).replace("typing.", "")


def _default(value: Any) -> str:
    if value is msgspec.NODEFAULT or value is inspect.Parameter.empty:
        return "required"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, msgspec.Struct):
        cls = type(value)
        try:
            if value == cls():
                return f"{cls.__name__}()"
        except TypeError:
            pass
    if isinstance(value, float) and value >= 3600 and value % 60 == 0:
        hours = value / 3600
        return f"{value!r} ({hours:g} h)"
    return repr(value)


def struct_fields(cls: type) -> Iterator[Field]:
    for f in msgspec.structs.fields(cls):
        default = f.default
        if default is msgspec.NODEFAULT and f.default_factory is not msgspec.NODEFAULT:
            default = f.default_factory()
        yield Field(f.name, _type_name(f.type), _default(default))


def signature_fields(fn: Callable[..., Any]) -> Iterator[Field]:
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        yield Field(p.name, _type_name(p.annotation), _default(p.default))


def cli_fields(parser: argparse.ArgumentParser) -> Iterator[tuple[Field, str | None]]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        if action.nargs == 0:  # store_true / store_false: a flag without a value
            tp = "flag"
        else:
            tp = action.type.__name__ if isinstance(action.type, type) else "str"
        yield Field(action.option_strings[0], tp, repr(action.default)), action.help


# ------------------------------------------------------------------------------------------ sections


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # table name in config_fields.toml
    title: str
    intro: str
    fields: list[Field]
    helps: dict[str, str | None] | None = None  # CLI: argparse help as a fallback description


def sections() -> list[Section]:
    from adapters.binance_futures.config import (
        ENV_API_KEY as BINANCE_KEY_ENV,
    )
    from adapters.binance_futures.config import (
        ENV_API_SECRET as BINANCE_SECRET_ENV,
    )
    from adapters.binance_futures.config import (
        BinanceEnvironment,
        BinanceFuturesDataClientConfig,
        BinanceFuturesExecClientConfig,
    )
    from adapters.bingx.config import ENV_API_KEY as BINGX_KEY_ENV
    from adapters.bingx.config import ENV_API_SECRET as BINGX_SECRET_ENV
    from adapters.bingx.config import BingxDataClientConfig, BingxEnvironment, BingxExecClientConfig
    from adapters.sim.__main__ import _parser
    from adapters.sim.server import SimVenue
    from adapters.testkit.node import SimNode

    binance_envs = ", ".join(f"`{e.name}`" for e in BinanceEnvironment)
    bingx_envs = ", ".join(f"`{e.name}`" for e in BingxEnvironment)
    out = [
        Section(
            "BinanceFuturesExecClientConfig",
            "BinanceFuturesExecClientConfig",
            "`adapters.binance_futures.config.BinanceFuturesExecClientConfig`: the Binance USD-M Futures "
            f"execution client. `environment` is one of {binance_envs}. Credentials left `None` are read "
            f"from `{BINANCE_KEY_ENV}` / `{BINANCE_SECRET_ENV}`.",
            list(struct_fields(BinanceFuturesExecClientConfig)),
        ),
        Section(
            "BinanceFuturesDataClientConfig",
            "BinanceFuturesDataClientConfig",
            "`adapters.binance_futures.config.BinanceFuturesDataClientConfig`: the Binance USD-M Futures "
            "market-data client (same connection fields as the execution client).",
            list(struct_fields(BinanceFuturesDataClientConfig)),
        ),
        Section(
            "BingxExecClientConfig",
            "BingxExecClientConfig",
            "`adapters.bingx.config.BingxExecClientConfig`: the BingX perpetual swap execution client "
            f"(see [BingX](../bingx.md)). `environment` is one of {bingx_envs}. "
            f"Credentials left `None` are read from `{BINGX_KEY_ENV}` / `{BINGX_SECRET_ENV}`.",
            list(struct_fields(BingxExecClientConfig)),
        ),
        Section(
            "BingxDataClientConfig",
            "BingxDataClientConfig",
            "`adapters.bingx.config.BingxDataClientConfig`: the BingX market-data client (same connection "
            "fields as the execution client).",
            list(struct_fields(BingxDataClientConfig)),
        ),
        Section(
            "SimVenue",
            "SimVenue (in-process simulator)",
            "`adapters.sim.server.SimVenue(...)`: keyword arguments of the in-process simulator "
            "(`async with SimVenue(...) as sim:`).",
            list(signature_fields(SimVenue.__init__)),
        ),
        Section(
            "SimNode",
            "SimNode (simulator + TradingNode)",
            "`adapters.testkit.node.SimNode(...)`: a simulator and a running `TradingNode` with our Binance "
            "or BingX execution client, on the caller's event loop.",
            list(signature_fields(SimNode.__init__)),
        ),
    ]
    subparsers = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for venue, parser in subparsers.choices.items():
        pairs = list(cli_fields(parser))
        out.append(
            Section(
                "cli",
                f"Simulator command line: `{venue}`",
                f"`python -m adapters.sim {venue} [flags]` (see [Simulator](../simulator.md)).",
                [f for f, _ in pairs],
                {f.name: h for f, h in pairs},
            )
        )
    return out


# -------------------------------------------------------------------------------------------- render


def _code(text: str) -> str:
    """Text for a code span in a table cell: no escaping (a pipe in a code span does not split)."""
    return " ".join(text.replace("`", "'").split())


def _cell(text: str) -> str:
    # Pipes inside code spans do not split a table cell (and an escape would show); outside them they would.
    parts = text.split("`")
    parts[::2] = [p.replace("|", "\\|") for p in parts[::2]]
    return " ".join("`".join(parts).split())


def render() -> str:
    table: dict[str, dict[str, str]] = tomllib.loads(TABLE.read_text())
    common = table.get("common", {})
    used: set[tuple[str, str]] = set()
    problems: list[str] = []
    body: list[str] = []
    for section in sections():
        own = table.get(section.key, {})
        body += [f"## {section.title}", "", section.intro, "", "| field | type | default | description |"]
        body.append("|---|---|---|---|")
        for f in section.fields:
            help_text = (section.helps or {}).get(f.name)
            if f.name in own:
                desc, src = own[f.name], (section.key, f.name)
            elif section.key != "cli" and f.name in common:
                desc, src = common[f.name], ("common", f.name)
            elif help_text:
                desc, src = help_text, None
            else:
                problems.append(f"[{section.key}] {f.name} ({section.title}) has no description")
                continue
            if src is not None:
                used.add(src)
            body.append(f"| `{f.name}` | `{_code(f.type)}` | `{_code(f.default)}` | {_cell(desc)} |")
        body.append("")
    for key, entries in table.items():
        for name in entries:
            if (key, name) not in used:
                problems.append(f"[{key}] {name}: described in {TABLE.name} but no such field any more")
    if problems:
        raise SystemExit(
            f"docs/{TABLE.name} is out of step with the code (add a one-line description per field):\n  "
            + "\n  ".join(problems)
        )
    head = [
        "<!-- GENERATED by docs/gen_config_reference.py from the config classes and docs/config_fields.toml."
        " Do not edit. -->",
        "",
        "# Configuration reference",
        "",
        "Every field of every configuration class, with its type and default, generated from the code.",
        "Durations are in seconds (`_secs`), milliseconds (`_ms`) or minutes (`_mins`) as the name says;",
        "`None` disables an optional feature where the description says so. Configs are frozen: build a new",
        "one to change a value.",
        "",
    ]
    return "\n".join(head + body).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run .venv/bin/python docs/gen_config_reference.py")
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
