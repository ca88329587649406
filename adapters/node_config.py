"""``TradingNodeConfig`` files (JSON or YAML) naming clients the way NautilusTrader's config files do.

A client entry is an ``ImportableConfig``: the config class, its factory and the config's fields::

    data_clients:
      BINANCE:
        path: adapters.binance_futures:BinanceFuturesDataClientConfig
        factory:
          path: adapters.binance_futures:BinanceFuturesLiveDataClientFactory
        config:
          environment: TESTNET
          instrument_provider: {load_ids: ["BTCUSDT-PERP.BINANCE"]}

Everything else in the file is ``TradingNodeConfig`` as NautilusTrader decodes it (``strategies`` as
``ImportableStrategyConfig``, ``logging``, timeouts, ...). ``${NAME}`` / ``${NAME:-default}`` in a
string value is replaced by the environment variable (keys and URLs stay out of the file; an unset
variable without a default is an error). Then::

    config = load_node_config("node.yaml")
    node = TradingNode(config=config)
    node.build()          # no add_*_client_factory: the factories come from the file

or ``python -m adapters.node_config node.yaml`` (builds and runs until Ctrl-C).

Why a loader rather than ``TradingNodeConfig.parse`` (NautilusTrader 1.221):

* ``TradingNodeConfig.data_clients`` / ``exec_clients`` are typed ``dict[str, LiveDataClientConfig]``
  (resp. exec), so msgspec decodes an ``ImportableConfig`` entry into a bare ``LiveDataClientConfig``
  and silently drops ``path``, ``factory`` and ``config`` (so does ``python -m nautilus_trader.live``);
* ``ImportableFactoryConfig.create()`` returns a factory *instance*, on which the node builder's
  ``factory.__name__`` check fails for exec clients (``AttributeError``);
* ``ImportableConfig.create()`` decodes without NautilusTrader's decoding hook, so e.g.
  ``instrument_provider.load_ids`` (``InstrumentId``\\s) cannot be given.

Here each client entry becomes an ``ImportableConfig`` whose ``create()`` decodes with that hook and
whose factory resolves to the factory class; the config is decoded once at load time, so a bad value
or an unknown field name fails there, naming the client.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
from nautilus_trader.common.config import (
    ImportableConfig,
    ImportableFactoryConfig,
    msgspec_decoding_hook,
    msgspec_encoding_hook,
    resolve_path,
)
from nautilus_trader.config import TradingNodeConfig

__all__ = [
    "ClientConfigEntry",
    "FactoryClassConfig",
    "load_node_config",
    "node_config_from_dict",
    "parse_node_config",
]

Format = Literal["json", "yaml"]
CLIENT_SECTIONS = ("data_clients", "exec_clients")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class FactoryClassConfig(ImportableFactoryConfig, frozen=True):
    """``factory: {path: "pkg.mod:FactoryClass"}``; ``create()`` returns the class itself, as
    ``TradingNode.add_*_client_factory`` registers it (NautilusTrader's returns an instance)."""

    def create(self) -> Any:
        return resolve_path(self.path)


class ClientConfigEntry(ImportableConfig, frozen=True):
    """A client entry of a config file; ``create()`` decodes ``config`` into the ``path`` class with
    NautilusTrader's decoding hook (identifiers, decimals, enums ...)."""

    def create(self) -> Any:
        cls = resolve_path(self.path)
        raw = msgspec.json.encode(self.config, enc_hook=msgspec_encoding_hook)
        return msgspec.json.decode(raw, type=cls, dec_hook=msgspec_decoding_hook)


def load_node_config(
    path: str | Path, fmt: Format | None = None, environ: Mapping[str, str] | None = None
) -> TradingNodeConfig:
    """The node config in file ``path``; JSON unless the suffix (or ``fmt``) says YAML. ``${VAR}``
    from ``environ`` (default ``os.environ``)."""
    file = Path(path)
    if fmt is None:
        fmt = "yaml" if file.suffix.lower() in (".yaml", ".yml") else "json"
    return parse_node_config(file.read_text(), fmt, environ)


def parse_node_config(
    text: str | bytes, fmt: Format = "json", environ: Mapping[str, str] | None = None
) -> TradingNodeConfig:
    if fmt == "yaml":
        import yaml  # PyYAML (a dependency of this package)

        data = yaml.safe_load(text)
    else:
        data = msgspec.json.decode(text)
    if not isinstance(data, dict):
        raise ValueError(f"a node config file holds a mapping, not {type(data).__name__}")
    return node_config_from_dict(data, environ)


def node_config_from_dict(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> TradingNodeConfig:
    """``data`` as read from a file (``${VAR}`` expanded from ``environ``, default ``os.environ``)."""
    expanded = _expand(dict(data), os.environ if environ is None else environ, "")
    clients = {section: expanded.pop(section, None) or {} for section in CLIENT_SECTIONS}
    base: TradingNodeConfig = TradingNodeConfig.parse(msgspec.json.encode(expanded))
    entries = {section: _client_entries(section, value) for section, value in clients.items()}
    return msgspec.structs.replace(base, **entries)


def _client_entries(section: str, clients: Any) -> dict[str, Any]:
    if not isinstance(clients, dict):
        raise ValueError(f"{section} must be a mapping of client key to entry")
    out: dict[str, Any] = {}
    for key, entry in clients.items():
        where = f"{section}.{key}"
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or ":" not in entry["path"]:
            raise ValueError(f"{where}: an entry needs 'path: package.module:ConfigClass' (and 'config')")
        unknown_keys = set(entry) - {"path", "config", "factory"}
        if unknown_keys:
            raise ValueError(f"{where}: unknown keys {sorted(unknown_keys)} (path, config, factory)")
        factory = entry.get("factory")
        if factory is not None and not (isinstance(factory, dict) and isinstance(factory.get("path"), str)):
            raise ValueError(f"{where}.factory: needs 'path: package.module:FactoryClass'")
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            raise ValueError(f"{where}.config must be a mapping")
        client = ClientConfigEntry(
            path=entry["path"],
            config=config,
            factory=FactoryClassConfig(path=factory["path"]) if factory is not None else None,
        )
        _check(where, client)
        out[key] = client
    return out


def _check(where: str, client: ClientConfigEntry) -> None:
    """Decode now (a bad value fails at load, naming the client); no unknown field names."""
    cls = resolve_path(client.path)
    fields = set(getattr(cls, "__struct_fields__", ()))
    unknown = sorted(set(client.config) - fields) if fields else []
    if unknown:
        raise ValueError(f"{where}: {cls.__name__} has no field(s) {unknown}")
    try:
        client.create()
    except (msgspec.ValidationError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc
    if client.factory is not None:
        client.factory.create()  # the factory path resolves


def _expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ValueError(f"{where or 'config'}: environment variable {name} is not set")

        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, environ, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.node_config",
        description="Build a TradingNode from a config file and run it.",
    )
    parser.add_argument("config", help="a TradingNodeConfig as JSON or YAML (.yaml/.yml)")
    parser.add_argument("--build-only", action="store_true", help="build the node, then dispose it")
    args = parser.parse_args(argv)

    from nautilus_trader.live.node import TradingNode

    node = TradingNode(config=load_node_config(args.config))
    try:
        node.build()
        if not args.build_only:
            node.run()
    except KeyboardInterrupt:
        pass
    finally:
        node.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
