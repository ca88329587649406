"""Route the adapters' standard-library log records into NautilusTrader's logging.

The core layers log through :mod:`logging` (they must not depend on a running kernel), but a trader
reads the node's log. Without this bridge a recovery warning would go to stderr (or nowhere), outside
the node's log file and its level filter. The clients call :func:`install` once; the node's own
``LoggingConfig`` then decides what is shown and where.
"""

from __future__ import annotations

import logging

from nautilus_trader.common.component import Logger

_ROOT = "adapters"


class NautilusLogHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._loggers: dict[str, Logger] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            logger = self._loggers.get(record.name)
            if logger is None:
                # "adapters.binance_futures.BINANCE" -> "binance_futures.BINANCE": short, still specific.
                logger = Logger(record.name.removeprefix(f"{_ROOT}."))
                self._loggers[record.name] = logger
            if record.levelno >= logging.ERROR:
                logger.error(message)
            elif record.levelno >= logging.WARNING:
                logger.warning(message)
            elif record.levelno >= logging.INFO:
                logger.info(message)
            else:
                logger.debug(message)
        except Exception:  # logging must never raise into the caller; report it the stdlib way
            self.handleError(record)


def install(level: int = logging.INFO) -> None:
    """Idempotently attach the bridge to the ``adapters`` logger hierarchy."""
    root = logging.getLogger(_ROOT)
    if any(isinstance(h, NautilusLogHandler) for h in root.handlers):
        return
    handler = NautilusLogHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
