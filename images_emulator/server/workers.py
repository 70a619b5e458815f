"""Running the server: in this process, or as N worker processes forked from it, sharing one socket.

Workers are forked after the app's modules are imported (FastAPI, Pillow, the catalog), so they
start at once and share those pages with the parent, instead of each importing everything again as
uvicorn's spawned workers do. The parent only supervises: it restarts a worker that dies, and on
SIGTERM or SIGINT passes SIGTERM on and waits. On SIGTERM every server stops accepting, lets
in-flight requests and streams finish for up to `--graceful-seconds`, then ends them, and the
process exits 0 (uvicorn alone re-raises the signal after its shutdown: exit 143 in a container).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

import uvicorn

from images_emulator.server import collector
from images_emulator.server.memory import lean_malloc

log = logging.getLogger("images_emulator")

APP = "images_emulator.server.app:create_app"
PROTOCOL = "images_emulator.server.connections:GuardedProtocol"  # httptools, with the head deadline
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
CRASH_LOOP_SECONDS = 2.0  # a worker that dies sooner after its start is not restarted
MAX_AUTO_WORKERS = 4


def worker_count(setting: int | str) -> int:
    """`--workers`: a number, or `auto`: one per core this process may use (at most MAX_AUTO_WORKERS)."""
    if setting != "auto":
        return int(setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_AUTO_WORKERS, cores, cpu_quota() or cores))


def cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> int | None:
    """The cores a cgroup v2 CPU quota allows (`docker run --cpus 1.5`: 2), or None without one."""
    try:
        quota, period = Path(path).read_text().split()[:2]
        return max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):  # no cgroup v2 file, or "max" (no quota)
        return None


def server_config(host: str, port: int, log_level: str, graceful_seconds: int) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        http=PROTOCOL,
        loop="uvloop",
        timeout_graceful_shutdown=graceful_seconds,
    )


def run_server(config: uvicorn.Config, sockets: list[socket.socket] | None = None) -> int:
    """One uvicorn server in this process until it is stopped; 0 after a clean stop, 1 if it never started.

    The stop signals are ignored around it, so uvicorn's handlers take them while it runs and
    re-raising them after its graceful shutdown ends nothing."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    return 0 if server.started else 1


def preload() -> None:
    """Import the app before forking, so the workers share its modules' pages. (Each worker builds the
    tokenizer's tables once it serves, server/app.py: building them here made a two-worker start 0.4 s
    slower than a one-worker one.) Its objects are frozen, out of the collector's way, so that a
    worker's collections never touch (and copy) those pages; the command has the collector paused
    anyway (server/collector.py) until each worker's app is up."""
    importlib.import_module(APP.partition(":")[0])
    gc.freeze()


def port_socket(config: uvicorn.Config) -> socket.socket:
    """A socket bound to the configured address with SO_REUSEPORT: each worker listens on one of its own,
    and the kernel spreads new connections evenly across them. (With one shared listening socket, the
    worker that happens to be in accept() takes most of a client's keep-alive connections: measured
    93 % and 27 % CPU for two workers under wrk, half the throughput of an even split.)"""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((config.host, config.port))
    return sock


def run_servers(config: uvicorn.Config, workers: int) -> int:
    """Serve with `workers` processes (1: this one); the exit code."""
    lean_malloc()
    if workers == 1:
        return run_server(config)
    preload()
    if hasattr(socket, "SO_REUSEPORT"):
        # Bound but not listening: it holds the port (and fails here, at once, if another program has
        # it); only the workers' listening sockets receive connections.
        return Supervisor(config, port_socket(config), workers, own_sockets=True).run()
    return Supervisor(config, config.bind_socket(), workers, own_sockets=False).run()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_with(parent: int) -> None:
    """Linux: SIGTERM this worker when its parent dies, killed too (else it would keep serving the port)."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request
        os._exit(0)


class Supervisor:
    """The parent of the forked workers."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, workers: int, *, own_sockets: bool) -> None:
        self.config = config
        self.sock = sock  # the shared listening socket, or (own_sockets) the port's placeholder
        self.workers = workers
        self.own_sockets = own_sockets
        self.children: dict[int, float] = {}  # pid → when it was forked
        self.stopping = False
        self.failed = False

    def run(self) -> int:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._stop)
        for _ in range(self.workers):
            self._fork()
        collector.freeze_and_resume()  # the supervisor's own start is over (a restarted worker starts collecting)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
                continue
            forked = self.children.pop(pid, 0.0)
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                self.failed |= code != 0
            elif time.monotonic() - forked < CRASH_LOOP_SECONDS:  # it could not even start: don't loop
                log.error("worker %d exited with %d at start; stopping", pid, code)
                self.failed = True
                self._stop(signal.SIGTERM, None)
            else:
                log.warning("worker %d exited with %d; starting another", pid, code)
                self._fork()
        self.sock.close()
        return 1 if self.failed else 0

    def _fork(self) -> None:
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                stop_with(supervisor)
                if self.own_sockets:
                    self.sock.close()
                    code = run_server(self.config, sockets=[port_socket(self.config)])
                else:
                    code = run_server(self.config, sockets=[self.sock])
            except BaseException:
                log.exception("worker failed")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = time.monotonic()

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        # A second SIGINT is passed on as it is: uvicorn ends its graceful wait at it (Ctrl-C twice).
        forcing = self.stopping and sig == signal.SIGINT
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT if forcing else signal.SIGTERM)
