"""A throwaway redis-server on a free loopback port, for tests, drills and demos.

NautilusTrader's Redis-backed cache is what a production node restarts from, so restart safety is
tested against the real thing (Debian's ``redis-server``; ``make test`` installs it when absent), not
a fake. Each :class:`RedisServer` is its own process with persistence off, in its own temp dir;
``stop()`` (or leaving the ``with`` block) terminates it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType


class RedisUnavailable(RuntimeError):
    """redis-server is not installed or did not start."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, port: int | None = None, start_timeout: float = 10.0) -> None:
        self.host = "127.0.0.1"
        self.port = port or _free_port()
        self._timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server is not installed (make test installs Debian's redis-server)")
        self._dir = tempfile.TemporaryDirectory(prefix="redis-")
        args = [binary, "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        args += ["--dir", self._dir.name, "--protected-mode", "yes", "--loglevel", "warning"]
        self._proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self._timeout
        while not self._ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self.stop()
                raise RedisUnavailable(f"redis-server did not start on port {self.port}: {err[-500:]}")
            time.sleep(0.02)  # polling a child process's readiness, not synchronising our own code
        return self

    def _ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def flush(self) -> None:
        with socket.create_connection((self.host, self.port), timeout=2.0) as s:
            s.sendall(b"FLUSHALL\r\n")
            s.recv(16)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        if self._dir is not None:
            with contextlib.suppress(OSError):
                self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def data_dir(server: RedisServer) -> Path | None:
    return Path(server._dir.name) if server._dir is not None else None
