"""Command line: one flag per Settings field; flags win over EMULATOR_* env vars."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging.config
import os
import secrets
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from images_emulator import __version__
from images_emulator.harness.fixtures import FixturesError, load_fixtures
from images_emulator.harness.store import StoreUnavailable, open_store
from images_emulator.server import logs
from images_emulator.server.lifeline import watch_stdin
from images_emulator.server.settings import ENV_PREFIX, Settings
from images_emulator.server.workers import run_servers, server_config, worker_count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="images-emulator",
        description="Local emulator of the OpenAI Images API. Every flag is also an EMULATOR_<FLAG> env var.",
    )
    parser.add_argument("--version", action="version", version=f"images-emulator {__version__}")
    for name, info in Settings.model_fields.items():
        env = ENV_PREFIX + name.upper()
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            metavar=name.upper(),
            help=f"{info.description} [env {env}; default {info.default}]",
        )
    return parser


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse flags into env vars (so uvicorn workers see the same config), then read Settings."""
    args = build_parser().parse_args(argv)
    for name, value in vars(args).items():
        if value is not None:
            os.environ[ENV_PREFIX + name.upper()] = value
    # One secret for every worker, so any worker can serve any signed URL.
    os.environ.setdefault(ENV_PREFIX + "URL_SECRET", secrets.token_hex(32))
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        sys.exit("images-emulator: invalid configuration\n" + "\n".join(lines))


def check_fixtures(settings: Settings) -> None:
    """Fail fast, with the file and line, on a bad fixtures directory (before any worker starts)."""
    if settings.fixtures is not None:
        try:
            load_fixtures(settings.fixtures)
        except FixturesError as exc:
            sys.exit(f"images-emulator: invalid fixtures: {exc}")


@contextlib.contextmanager
def shared_store(settings: Settings) -> Iterator[Settings]:
    """The settings every worker gets: with several workers and no --store, an SQLite store in a temporary
    directory (removed at exit) that they all share; --store memory means one worker unless --workers
    asks for several, which is refused."""
    if settings.store == "memory" and "workers" not in settings.model_fields_set:
        settings = settings.model_copy(update={"workers": 1})
    workers = worker_count(settings.workers)
    if workers == 1 or (settings.store is not None and settings.store != "memory"):
        yield settings
        return
    if settings.store == "memory":
        sys.exit(
            f"images-emulator: --store memory keeps the harness state (journal, faults, rate limits) in each "
            f"process, so {workers} workers would each see a part of it. Omit --store (the workers "
            "then share an SQLite file), or give --store sqlite:///path/state.db or redis://host:port/0."
        )
    with tempfile.TemporaryDirectory(prefix="images-emulator-") as directory:
        url = f"sqlite:///{Path(directory) / 'state.db'}"
        os.environ[ENV_PREFIX + "STORE"] = url
        yield settings.model_copy(update={"store": url})


def check_store(settings: Settings) -> None:
    """Fail fast when the store cannot be reached (before any worker starts)."""
    store = open_store(settings.store or "memory", prefix=settings.store_prefix, blob_bytes=settings.cache_bytes)

    async def reach() -> None:
        try:
            await store.ping()
        finally:
            await store.close()

    try:
        asyncio.run(reach())
    except (StoreUnavailable, OSError) as exc:
        sys.exit(f"images-emulator: {exc}")


def stop_while_starting(sig: int, frame: FrameType | None) -> None:
    """SIGTERM before the servers take it over: exit through the `with` blocks (the temporary store goes)."""
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, stop_while_starting)
    with shared_store(load_settings(argv)) as settings:
        check_fixtures(settings)
        check_store(settings)
        serve(settings)


def concrete_port(host: str, port: int) -> int:
    """`port`, or for 0 ("any free one") a free port chosen once: every worker then listens on the same one,
    and the banner names it."""
    if port != 0:
        return port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve(settings: Settings) -> None:
    settings = settings.model_copy(update={"port": concrete_port(settings.host, settings.port)})
    config = server_config(settings.host, settings.port, settings.log_level, settings.graceful_seconds)
    # Our formatters, and uvicorn's access line off (the entry logs each request: server/logs.py); set
    # after uvicorn.Config set up its own, and inherited by forked workers.
    logging.config.dictConfig(logs.log_config(settings.log_format, settings.log_level))
    workers = worker_count(settings.workers)
    logs.log_banner(logs.banner_fields(settings, __version__, workers))
    if settings.exit_with_stdin:
        watch_stdin()
    sys.exit(run_servers(config, workers))
