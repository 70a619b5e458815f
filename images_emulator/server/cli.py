"""Command line: one flag per Settings field; flags win over EMULATOR_* env vars."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError

from images_emulator.harness.fixtures import FixturesError, load_fixtures
from images_emulator.server.http_protocol import protocol_spec
from images_emulator.server.settings import Settings

ENV_PREFIX = "EMULATOR_"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="images-emulator",
        description="Local emulator of the OpenAI Images API. Every flag is also an EMULATOR_<FLAG> env var.",
    )
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


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    check_fixtures(settings)
    uvicorn.run(
        "images_emulator.server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        proxy_headers=False,
        http=protocol_spec(),  # h11 with header and drain deadlines
    )
