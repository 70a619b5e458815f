"""`ImagesEmulator`: drive an emulator from tests (what the pytest plugin's fixtures hand out).

Three backends:
- a server process on a free loopback port (`ImagesEmulator()`),
- an emulator that is already running (`ImagesEmulator(url="http://localhost:8000")`),
- in process, no port (`ImagesEmulator(inprocess=True)`): openai clients talk to the ASGI app through
  an in-memory transport. The SDK's `timeout` does not apply there (no socket), so the `timeout`
  fault only delays; use a server to test timeouts.

A view bound to a session (`emulator.session("name")`, what the per-test fixture uses) scopes
everything: its `base_url` carries the session, so any client built from it (or from the
OPENAI_BASE_URL the fixture sets) is tagged; `requests()`, `fault()` and `reset()` see only that session.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from images_emulator.contract.errors import ApiError
from images_emulator.harness.sessions import checked_session
from images_emulator.testing.outbound import LocalApp
from images_emulator.testing.process import EmulatorProcess

if TYPE_CHECKING:
    import httpx2
    import openai

DEFAULT_API_KEY = "sk-emulator-test"
SESSION_HEADER = "X-Emulator-Session"
ADMIN_KEY_HEADER = "X-Emulator-Admin-Key"


class EmulatorError(RuntimeError):
    """An admin call the emulator refused (bad fault kind, bad options...)."""


class UnusedFaultWarning(UserWarning):
    """A fault scheduled in a test was matched by no request of that test (the pytest plugin warns at
    its end; `filterwarnings = error::images_emulator.testing.UnusedFaultWarning` makes it a failure)."""


def configured_api_key(args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> str:
    """The key a server started with `args` (and EMULATOR_* `env`) accepts; any key works without one."""
    for index, arg in enumerate(args):
        if arg == "--api-key" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--api-key="):
            return arg.partition("=")[2]
    return (os.environ if env is None else env).get("EMULATOR_API_KEY") or DEFAULT_API_KEY


class _Backend(Protocol):
    root_url: str
    admin_key: str | None  # sent on admin calls (the server's --admin-key, else its --api-key)

    def admin(self, method: str, path: str, body: Any = None, session: str | None = None) -> Any: ...

    def transport(self) -> httpx2.BaseTransport | None: ...

    def async_transport(self) -> httpx2.AsyncBaseTransport | None: ...

    def close(self) -> None: ...


def _flag(args: Sequence[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in server args, or None."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    return None


def _admin_path(path: str, session: str | None) -> str:
    return f"/__emulator/{path}" + (f"?session={quote(session, safe='')}" if session else "")


class _ServerBackend:
    """A server reached over HTTP: started here (and stopped on close) or already running."""

    def __init__(self, url: str | None, args: Sequence[str], env: Mapping[str, str] | None) -> None:
        self.process: EmulatorProcess | None = None
        if url is None:
            self.process = EmulatorProcess(env=env, args=tuple(args)).start()
            url = self.process.base_url
        self.root_url = url.rstrip("/")
        self.admin_key: str | None = None

    def admin(self, method: str, path: str, body: Any = None, session: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.root_url + _admin_path(path, session), data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.admin_key:
            request.add_header(ADMIN_KEY_HEADER, self.admin_key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"{method} /__emulator/{path}: {exc.code} {exc.read().decode()}") from None

    def transport(self) -> None:
        return None  # the default: a real socket

    def async_transport(self) -> None:
        return None

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()


class _DropIncomplete:
    """ASGI wrapper for in-process use: a response the app leaves unfinished (the `disconnect` fault)
    becomes the connection error a socket client would see."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        state = {"started": False, "done": False}

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["done"] = True
            await send(message)

        await self.app(scope, receive, watch)
        if scope["type"] == "http" and state["started"] and not state["done"]:
            import httpx2

            raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")


class _SharedTransport:
    """An httpx2 transport delegating to the shared TestClient; closing it leaves the TestClient open."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response: httpx2.Response = self.client.send(request, stream=True)
        return response

    def close(self) -> None:
        pass


class _InProcessBackend:
    """The ASGI app in this process: sync calls through starlette's TestClient (the app runs on its
    event-loop thread), async calls through httpx2.ASGITransport on the caller's loop."""

    root_url = "http://images-emulator.invalid"

    def __init__(self, settings: Any) -> None:
        from fastapi.testclient import TestClient

        from images_emulator.server.app import create_app

        self.app = _DropIncomplete(create_app(settings))
        self.client = TestClient(self.app, base_url=self.root_url)
        self.client.__enter__()
        self._local: LocalApp | None = None
        self.admin_key: str | None = settings.admin_key_in_effect

    def admin(self, method: str, path: str, body: Any = None, session: str | None = None) -> Any:
        headers = {ADMIN_KEY_HEADER: self.admin_key} if self.admin_key else {}
        response = self.client.request(method, _admin_path(path, session), json=body, headers=headers)
        if response.status_code >= 400:
            raise EmulatorError(f"{method} /__emulator/{path}: {response.status_code} {response.text}")
        return response.json()

    def transport(self) -> httpx2.BaseTransport:
        return _SharedTransport(self.client)  # type: ignore[return-value]

    def async_transport(self) -> httpx2.AsyncBaseTransport:
        import httpx2

        return httpx2.ASGITransport(app=self.app)

    def local_app(self) -> LocalApp:
        if self._local is None:
            import httpx2

            self._local = LocalApp(self.root_url, self.client, httpx2.AsyncClient(transport=self.async_transport()))
        return self._local

    def close(self) -> None:
        self.client.__exit__(None, None, None)


class ImagesEmulator:
    """An emulator for tests, optionally scoped to one session. A context manager when it owns a server."""

    def __init__(
        self,
        *,
        inprocess: bool = False,
        url: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        settings: Any = None,
        api_key: str | None = None,
        admin_key: str | None = None,
        session: str | None = None,
        _backend: _Backend | None = None,
    ) -> None:
        if _backend is None:
            if inprocess:
                from images_emulator.server.settings import Settings

                _backend = _InProcessBackend(settings or Settings())
            else:
                _backend = _ServerBackend(url, args, env)
        self._backend = _backend
        self._owner = session is None
        environment = {**os.environ, **(env or {})}
        self.api_key = api_key or configured_api_key(args, environment)
        if self._owner and (admin_key or not inprocess):  # views share their owner's; in process, settings know
            self._backend.admin_key = (
                admin_key or _flag(args, "--admin-key") or environment.get("EMULATOR_ADMIN_KEY") or self.api_key
            )
        if session is not None:
            try:
                checked_session(session)
            except ApiError as exc:  # raised at once in the test, not as a 404 on its first request
                raise ValueError(exc.message) from None
        self.session_id = session

    # --- addresses and clients ----------------------------------------------------------------------

    @property
    def admin_key(self) -> str | None:
        """The key this emulator's admin calls send (None: an open admin API)."""
        return self._backend.admin_key

    @property
    def server_url(self) -> str:
        """The emulator's root URL (admin endpoints, /health)."""
        return self._backend.root_url

    @property
    def base_url(self) -> str:
        """The `base_url` for an openai client (`.../v1`), carrying this view's session if any."""
        prefix = f"/__emulator/sessions/{quote(self.session_id, safe='')}" if self.session_id else ""
        return f"{self.server_url}{prefix}/v1"

    def client_options(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for `openai.OpenAI(...)` reaching this emulator (SDK default retries)."""
        return {"base_url": self.base_url, "api_key": self.api_key, **overrides}

    def http_client(self, **kwargs: Any) -> httpx2.Client:
        """A plain `httpx2.Client` that reaches the emulator (also in process): for image URLs and raw calls."""
        import httpx2

        transport = self._backend.transport()
        if transport is not None:
            kwargs.setdefault("transport", transport)
        return httpx2.Client(**{"timeout": 60, **kwargs})

    def client(self, **kwargs: Any) -> openai.OpenAI:
        """A configured `openai.OpenAI`; kwargs (max_retries, timeout, ...) are passed through."""
        import openai

        options = self.client_options(**kwargs)
        transport = self._backend.transport()
        if transport is not None and "http_client" not in options:
            options["http_client"] = openai.DefaultHttpxClient(transport=transport)
        return openai.OpenAI(**options)

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        """A configured `openai.AsyncOpenAI`; kwargs are passed through."""
        import openai

        options = self.client_options(**kwargs)
        transport = self._backend.async_transport()
        if transport is not None and "http_client" not in options:
            options["http_client"] = openai.DefaultAsyncHttpxClient(transport=transport)
        return openai.AsyncOpenAI(**options)

    # --- harness --------------------------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Journal entries (this session's, or all), oldest first."""
        entries: list[dict[str, Any]] = self._backend.admin("GET", "requests", session=self.session_id)["data"]
        return entries

    def clear_requests(self) -> None:
        self._backend.admin("DELETE", "requests", session=self.session_id)

    def fault(
        self,
        kind: str,
        times: int = 1,
        *,
        path: str | None = None,
        model: str | None = None,
        prompt_contains: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Schedule `kind` for the next `times` matching requests; options: retry_after, should_retry,
        hold_seconds, error. Returns the rule as the emulator stored it."""
        match = {k: v for k, v in (("path", path), ("model", model), ("prompt_contains", prompt_contains)) if v}
        body = {"fault": kind, "times": times, "match": match, **options}
        rule: dict[str, Any] = self._backend.admin("POST", "faults", body, session=self.session_id)
        return rule

    def faults(self) -> list[dict[str, Any]]:
        """The scheduled faults not yet used up."""
        rules: list[dict[str, Any]] = self._backend.admin("GET", "faults", session=self.session_id)["data"]
        return rules

    def unused_faults(self) -> list[dict[str, Any]]:
        """The scheduled faults no request has matched yet."""
        return [rule for rule in self.faults() if rule["remaining"] == rule["times"]]

    def clear_faults(self) -> None:
        self._backend.admin("DELETE", "faults", session=self.session_id)

    def local_app(self) -> LocalApp | None:
        """For the in-process backend: its address and clients (the pytest plugin routes requests there)."""
        return self._backend.local_app() if isinstance(self._backend, _InProcessBackend) else None

    def reset(self) -> None:
        """Clear the journal and scheduled faults (this session's; all, with rate-limit counters, otherwise)."""
        self._backend.admin("POST", "reset", session=self.session_id)

    def session(self, session_id: str | None = None) -> ImagesEmulator:
        """A view of the same emulator scoped to `session_id` (a fresh unique id by default)."""
        return ImagesEmulator(
            api_key=self.api_key, session=session_id or f"s-{uuid.uuid4().hex[:16]}", _backend=self._backend
        )

    # --- lifetime -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the server or in-process app this object started (views leave it running)."""
        if self._owner:
            self._backend.close()

    def __enter__(self) -> ImagesEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ImagesEmulator(base_url={self.base_url!r})"
