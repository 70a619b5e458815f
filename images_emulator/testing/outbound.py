"""What leaves the test process through httpx2 / httpx while the pytest plugin runs.

The official SDKs send every request through `Client.send` / `AsyncClient.send` of httpx2 (SDK 3.x)
or httpx (older SDKs), whatever the transport. Wrapping `send` in both, when installed:
- a request to the paid OpenAI API is refused before a byte is sent (unless allowed);
- a request to the emulator that names no session gets the running test's, so a client built at
  import time (before any test, so without a session) still counts as that test's;
- the first request to the emulator starts it when nothing has yet (`on_first_contact`);
- while a test uses the in-process emulator (`local`), requests to the emulator, or to the in-process
  app's own address, go to the app in this process (httpx2 clients only).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SESSION_HEADER = "X-Emulator-Session"
PAID_HOSTS = ("api.openai.com",)
PAID_HOST_SUFFIXES = (".openai.com", ".openai.azure.com")


class RealApiBlocked(BaseException):
    """A test tried to reach the paid OpenAI API. A BaseException, so neither the SDK's retry loop nor
    an app's `except Exception` hides it: the test fails at once, with this message."""


def is_paid_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in PAID_HOSTS or host.endswith(PAID_HOST_SUFFIXES)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


@dataclass(frozen=True)
class LocalApp:
    """The in-process emulator: its address and the httpx2 clients that reach its ASGI app."""

    url: str
    client: Any
    async_client: Any


@dataclass
class Outbound:
    """The policy the wrapped `send` applies; the plugin owns one per test session."""

    emulator_url: str
    allow_real_api: bool = False
    session: str | None = None
    local: LocalApp | None = None
    on_first_contact: Callable[[], None] | None = None

    def check(self, request: Any) -> bool:
        """Refuse `request` (an httpx2 or httpx Request) if it goes to the paid API; tag it if it goes
        to the emulator. Whether it goes to the emulator."""
        __tracebackhide__ = True
        url = str(request.url)
        origin = _origin(url)
        if is_paid_host(origin[1]) and not self.allow_real_api:
            raise RealApiBlocked(self.refusal(request.method, url))
        local = self.local
        if origin != _origin(self.emulator_url) and (local is None or origin != _origin(local.url)):
            return False
        if local is None and self.on_first_contact is not None:
            self.on_first_contact()
        path = urlsplit(url).path
        if self.session and not path.startswith("/__emulator/") and SESSION_HEADER not in request.headers:
            request.headers[SESSION_HEADER] = self.session
        return True

    def local_client(self, sender: Any, request: Any, *, asynchronous: bool) -> Any:
        """The in-process app's client `request` goes through instead of `sender`, if any."""
        local = self.local
        if local is None or not self.check(request):
            return None
        client = local.async_client if asynchronous else local.client
        httpx2_request = type(request).__module__.split(".")[0] == "httpx2"  # the in-process clients are httpx2's
        return client if client is not sender and httpx2_request else None

    def refusal(self, method: str, url: str) -> str:
        return (
            f"images-emulator blocked {method} {url}: a test tried to reach the paid OpenAI API, and nothing was "
            f"sent. During this test session the pytest plugin points OPENAI_BASE_URL at the emulator "
            f"({self.emulator_url}/v1), so a client built with `OpenAI()` reaches it; this one was given "
            "api.openai.com some other way (base_url=..., a settings file, or an environment read before pytest "
            "started). Build it with `OpenAI()` or `images_emulator.client()`, or pass "
            "`base_url=os.environ['OPENAI_BASE_URL']`. To reach the real API on purpose, set "
            "`images_emulator_allow_real_api = true` in the pytest ini file."
        )


_installed: list[tuple[type, Any]] = []


def install(policy: Outbound) -> None:
    """Wrap `send` of httpx2's and httpx's sync and async clients (those installed) with `policy`."""
    uninstall()
    for module_name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for cls, wrapped in ((module.Client, _sync(policy)), (module.AsyncClient, _async(policy))):
            original = cls.__dict__["send"]
            wrapped.__wrapped__ = original  # type: ignore[attr-defined]
            _installed.append((cls, original))
            setattr(cls, "send", wrapped)  # noqa: B010


def uninstall() -> None:
    """Put back the original `send` methods."""
    while _installed:
        cls, original = _installed.pop()
        with contextlib.suppress(AttributeError, TypeError):
            setattr(cls, "send", original)  # noqa: B010


def _sync(policy: Outbound) -> Callable[..., Any]:
    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        local = policy.local_client(self, request, asynchronous=False)
        if local is not None:
            return local.send(request, **kwargs)
        policy.check(request)
        return send.__wrapped__(self, request, **kwargs)  # type: ignore[attr-defined]

    return send


def _async(policy: Outbound) -> Callable[..., Any]:
    async def send(self: Any, request: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        local = policy.local_client(self, request, asynchronous=True)
        if local is not None:
            return await local.send(request, **kwargs)
        policy.check(request)
        return await send.__wrapped__(self, request, **kwargs)  # type: ignore[attr-defined]

    return send
