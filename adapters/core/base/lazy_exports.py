"""Names a package exports from its submodules, imported on first use (a module ``__getattr__``, PEP 562).

A package that re-exports its public names this way stays cheap to import: importing one submodule (e.g.
a venue's wire schemas) does not load what the others need (NautilusTrader's node machinery).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    module: str, where: Mapping[str, str], namespace: dict[str, Any], *, base: str | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``module``: each name in ``where`` is looked up in the submodule
    ``<base>.<where[name]>`` (``base`` defaults to ``module``) when first asked for, then kept in
    ``namespace`` (the module's ``globals()``) so later lookups skip ``__getattr__``."""
    package = base or module

    def __getattr__(name: str) -> Any:
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
