"""Settings: every field is a CLI flag `--field-name` and an env var `EMULATOR_FIELD_NAME`."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from images_emulator.contract.azure import parse_deployments
from images_emulator.contract.catalog import CATALOG_DATE, parse_api_date
from images_emulator.harness.latency import MAX_WAIT_SECONDS
from images_emulator.harness.store import parse_store_url

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
LogFormat = Literal["text", "json"]


ENV_PREFIX = "EMULATOR_"


class Settings(BaseModel):
    """Configuration of one emulator process: the values passed, else EMULATOR_* env vars, else defaults."""

    # (A plain model, not pydantic-settings: that import alone was a third of the start-up time.)
    model_config = ConfigDict(extra="ignore", validate_default=True)

    api_date: str = Field(
        CATALOG_DATE.isoformat(),
        description="The API as of this date (YYYY-MM-DD), or `today` to follow the clock (UTC): which models "
        "are served and how errors read. The default is the day of the newest SDK the catalog mirrors.",
    )
    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 in containers).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free one).")
    workers: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto",
        description="Worker processes: a number, or `auto` (one per core this process may use, at most 4). "
        "Several workers share the harness state through the store.",
    )
    store: str | None = Field(
        None,
        description="Where the harness state lives: `memory` (one process), `sqlite:///file.db`, or "
        "`redis://host:port/db` (shared by replicas). Unset: memory for one worker, an SQLite file in a "
        "temporary directory for several.",
    )
    store_prefix: str = Field(
        "images-emulator:", min_length=1, description="Prefix of every key in Redis (several emulators, one Redis)."
    )
    log_level: LogLevel = Field("info", description="uvicorn log level.")
    api_key: str | None = Field(None, description="When set, only this bearer key is accepted.")
    cors_origins: str | None = Field(
        None,
        description="Origins (comma-separated, or `*`) whose pages may call the admin API and dashboard, "
        "besides the same origin; unset: localhost origins only. The API itself answers every origin.",
    )
    public_url: str | None = Field(
        None,
        description="Base URL clients use to reach this server, for image URLs (e.g. http://emulator:8000).",
    )
    url_secret: str | None = Field(
        None, description="HMAC secret for image URLs; random per start when unset (shared by all workers)."
    )
    url_ttl_seconds: int = Field(3600, ge=1, description="Lifetime of image URLs (response_format=url).")
    cache_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Bound of the encoded-image cache, bytes; also of the images kept behind edit and variation "
        "URLs (memory and SQLite stores).",
    )
    max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest accepted request body (JSON and multipart), bytes."
    )
    body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest a client may take to send a request body; slower ones get 408 and are disconnected.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest a client may take to send a request's headers; slower ones get 408 and are disconnected.",
    )
    graceful_seconds: int = Field(
        5,
        ge=0,
        le=3600,
        description="On SIGTERM: how long in-flight requests and streams may finish before they are ended.",
    )
    stream_interval_ms: int = Field(0, ge=0, description="Pause between streamed events, ms.")
    fixtures: Path | None = Field(None, description="Directory holding fixtures.yaml and its images.")
    latency: str = Field(
        "none", description="none | realistic | <milliseconds>: simulated generation time (at most 600000 ms)."
    )
    latency_scale: float = Field(1.0, ge=0, description="Multiplier applied to realistic latency.")
    rate_limit_rpm: int | None = Field(None, ge=1, description="Requests per minute per API key.")
    rate_limit_ipm: int | None = Field(None, ge=1, description="Images per minute per API key.")
    journal_size: int = Field(1000, ge=0, description="How many requests the journal keeps.")
    fault_retry_after: float = Field(
        0.02,
        ge=0,
        description="Retry-After (seconds) of rate_limit faults that set none (sent as retry-after-ms too).",
    )
    fault_hold_seconds: float = Field(
        30.0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="How long a `timeout` fault holds the response unless it sets hold_seconds (at most 600).",
    )

    azure_deployments: str | None = Field(
        None,
        description="Azure OpenAI deployments as NAME=MODEL[,NAME=MODEL...] (docs/azure.md); a deployment "
        "named like a model serves that model without an entry.",
    )

    admin_key: str | None = Field(
        None,
        description="Key the admin API and dashboard (`/__emulator/...`) require (X-Emulator-Admin-Key, a bearer "
        "token or HTTP Basic password); unset: the --api-key when that is set, else no key.",
    )

    @property
    def admin_key_in_effect(self) -> str | None:
        """The admin key the server requires: --admin-key, else --api-key, else None (an open admin API)."""
        return self.admin_key or self.api_key

    log_format: LogFormat = Field(
        "text", description="`text` (one line per request) or `json` (one JSON object per line, for log collectors)."
    )
    exit_with_stdin: bool = Field(
        False,
        description="Stop when standard input (a pipe or a socket) closes: a program that starts the emulator with "
        "a pipe on its stdin takes it down with it however it ends, killed too (the pytest plugin does this).",
    )
    access_log: bool = Field(
        True, description="Log one line per request (id, method, path, model, status, duration, error, fault, session)."
    )
    gallery_bytes: int = Field(
        8 * 1024 * 1024,
        ge=0,
        description="Bound of the images kept per process for the dashboard (the oldest dropped first), bytes; "
        "0 keeps none.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        """Fill the fields not passed from their EMULATOR_<FIELD> env var (the name in any case)."""
        if not isinstance(values, dict):
            return values
        env = {key.upper(): value for key, value in os.environ.items() if key.upper().startswith(ENV_PREFIX)}
        found = {name: env[ENV_PREFIX + name.upper()] for name in cls.model_fields if ENV_PREFIX + name.upper() in env}
        return {**found, **values}

    @field_validator("api_date")
    @classmethod
    def _check_api_date(cls, value: str) -> str:
        parse_api_date(value)
        return value.strip().lower()

    @property
    def fixed_api_date(self) -> date | None:
        """The configured date, or None for `today`."""
        return parse_api_date(self.api_date)

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_store_url(value)
        return value.strip()

    @field_validator("azure_deployments")
    @classmethod
    def _check_azure_deployments(cls, value: str | None) -> str | None:
        parse_deployments(value)
        return value

    @field_validator("latency")
    @classmethod
    def _check_latency(cls, value: str) -> str:
        from images_emulator.harness.latency import parse_latency

        parse_latency(value)
        return value.strip().lower()
