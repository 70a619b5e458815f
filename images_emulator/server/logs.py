"""The server's log: one line per request (`--access-log`), as text or JSON (`--log-format`), and the
start-up banner.

uvicorn's own access line is switched off (it knows neither the model, the error code, the fault nor
the session); uvicorn's other messages go through the same formatter, so a JSON log stays one object
per line.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from uvicorn.config import LOGGING_CONFIG

ACCESS = logging.getLogger("images_emulator.access")
FIELDS_ATTR = "emulator_fields"  # where a record carries its structured fields
ERROR_PEEK = 4096  # bytes of an error answer read for its code and param


def timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`2026-12-02T16:30:00.123Z INFO message`."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{timestamp(record)} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        document.update(getattr(record, FIELDS_ATTR, {}))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """uvicorn's logging config with every formatter ours, plus the emulator's loggers (applied in each worker)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    formatter = {"()": f"{__name__}.{'JsonFormatter' if log_format == 'json' else 'TextFormatter'}"}
    config["formatters"] = {"default": formatter, "access": dict(formatter)}
    # uvicorn's protocol writes its access line only when that logger has handlers: give it none.
    config["loggers"]["uvicorn.access"] = {"handlers": [], "level": "INFO", "propagate": False}
    name = level.upper()  # uvicorn registers TRACE
    config["loggers"]["uvicorn"]["level"] = name
    config["loggers"]["uvicorn.error"] = {"level": name}
    config["loggers"]["images_emulator"] = {
        "handlers": ["default"],
        "level": "DEBUG" if name == "TRACE" else name,
        "propagate": False,
    }
    # The multipart parser warns of each malformed body it meets; the client already has its 400 and the request
    # its log line: its errors only, in our format (not Python's bare last-resort line).
    config["loggers"]["python_multipart"] = {"handlers": ["default"], "level": "ERROR", "propagate": False}
    return config


def error_fields(body: bytes) -> tuple[str | None, str | None]:
    """`code` and `param` of an error answer in OpenAI's (or Azure's) envelope; (None, None) otherwise."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    code, param = error.get("code"), error.get("param")
    return (str(code) if code is not None else None), (str(param) if param is not None else None)


def request_fields(
    request_id: str,
    method: str,
    path: str,
    *,
    model: str | None,
    status: int | None,
    duration_ms: float,
    code: str | None,
    param: str | None,
    fault: str | None,
    session: str | None,
) -> dict[str, Any]:
    """The facts of one request's log line, in the order the text line shows them."""
    return {
        "request_id": request_id,
        "method": method,
        "path": path,
        "model": model,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "code": code,
        "param": param,
        "fault": fault,
        "session": session,
    }


PLAIN_WORD = re.compile(r'[^\s="\\]+')  # else quoted: what a client sent cannot pose as another field or line


def word(value: Any) -> str:
    text = str(value)
    return text if PLAIN_WORD.fullmatch(text) and text.isprintable() else json.dumps(text, ensure_ascii=False)


def request_message(fields: dict[str, Any]) -> str:
    """`req_... POST /v1/images/generations model=gpt-image-1 400 3.1ms code=invalid_value param=size ...`."""
    status = fields["status"] if fields["status"] is not None else "-"
    words = [fields["request_id"], fields["method"], word(fields["path"])]
    if fields["model"]:
        words.append(f"model={word(fields['model'])}")
    words += [str(status), f"{fields['duration_ms']}ms"]
    words += [f"{name}={word(fields[name])}" for name in ("code", "param", "fault", "session") if fields[name]]
    return " ".join(words)


def log_request(fields: dict[str, Any], level: int = logging.INFO) -> None:
    ACCESS.log(level, request_message(fields), extra={FIELDS_ATTR: fields})


def banner_fields(settings: Any, version: str, workers: int) -> dict[str, Any]:
    """What start-up reports: version, URL, api date and the harness settings in force."""
    return {
        "version": version,
        "url": f"http://{settings.host}:{settings.port}",
        "dashboard": f"http://{settings.host}:{settings.port}/__emulator/ui",
        "api_date": settings.api_date,
        "workers": workers,
        "store": settings.store or "memory",
        "latency": settings.latency,
        "latency_scale": settings.latency_scale,
        "rate_limit_rpm": settings.rate_limit_rpm,
        "rate_limit_ipm": settings.rate_limit_ipm,
        "fixtures": str(settings.fixtures) if settings.fixtures else None,
        "journal_size": settings.journal_size,
        "api_key": "required" if settings.api_key else "any",
    }


def log_banner(fields: dict[str, Any]) -> None:
    logger = logging.getLogger("images_emulator")
    text = " ".join(f"{name}={value}" for name, value in fields.items() if name not in ("version", "url"))
    logger.info("images-emulator %s at %s (%s)", fields["version"], fields["url"], text, extra={FIELDS_ATTR: fields})
