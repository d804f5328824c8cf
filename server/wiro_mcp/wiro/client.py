"""The Wiro REST client: one shared httpx2.AsyncClient, signed requests, errors mapped to one tree."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx2

from wiro_mcp import __version__
from wiro_mcp.errors import (
    ConfigError,
    WiroAuthError,
    WiroBalanceError,
    WiroConcurrencyError,
    WiroError,
    WiroNotFoundError,
    WiroRateLimitError,
    WiroServerError,
    WiroTransportError,
    WiroValidationError,
)
from wiro_mcp.jsonish import as_dict, bounded_loads
from wiro_mcp.wiro.models import Output, RunAnswer, Task
from wiro_mcp.wiro.retry import RetryPolicy, retry_delay, should_retry
from wiro_mcp.wiro.tls import ssl_context

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx2.Timeout(connect=10.0, read=30.0, write=60.0, pool=10.0)
DEFAULT_DEADLINE_SECONDS = 180.0  # one request in all: connect, send (an upload too), answer
MAX_ANSWER_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class FilePart:
    """A file sent inside a multipart Run: `part` is the Wiro parameter id (`inputImage`)."""

    part: str
    filename: str
    data: bytes
    contenttype: str
    # A fileinput or multifileinput has `{id}Url` beside `{id}` (left empty when it carries no URLs);
    # a combinefileinput takes files and URLs in `{id}` alone.
    has_url_field: bool = True


def _first_error(body: Mapping[str, Any]) -> tuple[int | None, str]:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first: dict[str, Any] = errors[0]  # pyright: ignore[reportUnknownVariableType]
        code = first.get("code")
        try:
            number = int(code) if code is not None else None
        except (TypeError, ValueError):
            number = None
        return number, str(first.get("message") or "Wiro reported an error")
    if isinstance(errors, list) and errors and isinstance(errors[0], str):
        return None, str(errors[0])  # pyright: ignore[reportUnknownArgumentType]
    return None, str(body.get("message") or body.get("error") or "Wiro reported an error")


def _retry_after(response: httpx2.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


async def _read_capped(response: httpx2.Response, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (nothing Wiro sends is that large)."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data.extend(chunk)
        if len(data) > limit:
            return None
    return bytes(data)


def read_body(response: httpx2.Response, content: bytes | None) -> Any:
    """The answer's JSON, read within bounds; None for anything unreadable, too large or too deep."""
    if content is None:
        return None
    try:
        return bounded_loads(content, max_bytes=MAX_ANSWER_BYTES)
    except ValueError:
        return None


def error_for(response: httpx2.Response, body: Any) -> WiroError | None:
    """The error an answer means (`body`: its JSON, None when unreadable), or None for a success."""
    status = response.status_code
    mapping = as_dict(body)
    code, message = _first_error(mapping) if mapping else (None, response.reason_phrase or f"HTTP {status}")
    if status == 429:
        return WiroRateLimitError(message, code=code, http_status=status, retry_after=_retry_after(response))
    if status in (401, 403):
        return WiroAuthError(message, code=code, http_status=status)
    if status == 404:
        return WiroNotFoundError(message, code=code, http_status=status)
    if status == 408 or status >= 500:
        return WiroServerError(message, code=code, http_status=status)
    if status >= 400:
        return WiroValidationError(message, code=code, http_status=status)
    if not mapping:
        return WiroServerError(
            "Wiro answered with something that is not JSON, or larger or deeper than any Wiro answer",
            http_status=status,
        )
    if mapping.get("result") in (True, "true"):
        return None
    return _error_for_code(code, message, status)


def _error_for_code(code: int | None, message: str, status: int) -> WiroError:
    if code == 96:
        return WiroConcurrencyError(message, code=code, http_status=status)
    if code == 97:
        return WiroBalanceError(message, code=code, http_status=status)
    if code in (98, 99):
        return WiroAuthError(message, code=code, http_status=status)
    if code == 1 or "not-exist" in message or "not found" in message.lower():
        return WiroNotFoundError(message, code=code, http_status=status)
    return WiroValidationError(message, code=code, http_status=status)


def _form_value(value: Any) -> str | list[str]:
    if isinstance(value, list):  # a combinefileinput: one part per URL
        return [_form_value(v) for v in value]  # pyright: ignore[reportUnknownVariableType, reportReturnType]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path_segment(text: str) -> bool:
    """A slug that stays one path segment: never empty, `.` or `..` (quoting does the rest)."""
    return text not in ("", ".", "..") and text.isprintable()


def check_base_url(base_url: str) -> str:
    """Wiro's base URL without its trailing slash; a URL that cannot work is a ConfigError, before
    anything is sent (never a Run recorded as possibly started)."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"WIRO_API_BASE_URL {base_url!r} is not an http(s) URL with a host")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"WIRO_API_BASE_URL {base_url!r} has an invalid port") from None
    return base_url.strip().rstrip("/")


_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_key(base_url: str) -> str:
    """One spelling per Wiro: scheme and host lower-cased, the default port dropped, every loopback
    name the same (`http://127.0.0.1:8790/v1` = `http://LOCALHOST:8790/v1/`)."""
    parts = urlsplit(check_base_url(base_url))
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.startswith("127."):
        host = "localhost"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(parts.scheme.lower())) else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


class WiroClient:
    """Async client for Wiro's REST API. Only this module speaks HTTP to Wiro."""

    def __init__(
        self,
        base_url: str,
        auth: httpx2.Auth,
        *,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self._deadline = deadline_seconds
        self._retry = retry or RetryPolicy()
        self._auth = auth
        self._timeout = timeout
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None  # made at the first request, not at start-up

    def __repr__(self) -> str:
        return f"WiroClient(base_url={self.base_url!r})"

    @property
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(
                base_url=self.base_url + "/",
                auth=self._auth,
                timeout=self._timeout,
                # The server's one TLS context (tls.py); a transport given (a test's) needs none.
                verify=ssl_context() if self._transport is None else True,
                transport=self._transport,
                headers={"user-agent": f"wiro-mcp/{__version__}"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> WiroClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send_once(self, path: str, **kwargs: Any) -> dict[str, Any]:
        request = self._http.build_request("POST", path, **kwargs)
        try:
            # A total deadline: httpx2's timeouts are per read, and an answer trickled a byte at a time
            # would pass them all.
            with anyio.fail_after(self._deadline):
                response = await self._http.send(request, stream=True)
                try:
                    content = await _read_capped(response, MAX_ANSWER_BYTES)
                finally:
                    await response.aclose()
        except (
            httpx2.ConnectError,
            httpx2.ConnectTimeout,
            httpx2.PoolTimeout,
            httpx2.UnsupportedProtocol,
            httpx2.InvalidURL,
        ) as exc:
            raise WiroTransportError(
                f"could not connect to Wiro: {type(exc).__name__}", sent_maybe=False
            ) from None
        except httpx2.TransportError as exc:
            raise WiroTransportError(
                f"no answer from Wiro ({type(exc).__name__}); the request may have been received",
                sent_maybe=True,
            ) from None
        except TimeoutError:
            raise WiroTransportError(
                f"no whole answer from Wiro within {self._deadline:g} s; the request may have been received",
                sent_maybe=True,
            ) from None
        body = read_body(response, content)
        error = error_for(response, body)
        if error is not None:
            raise error
        return as_dict(body)

    async def _post(self, path: str, *, creates: bool, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return await self._send_once(path, **kwargs)
            except WiroError as error:
                if attempt + 1 >= self._retry.attempts or not should_retry(error, creates=creates):
                    raise
                delay = retry_delay(error, attempt, self._retry)
                log.info("retrying %s in %.2fs after %s", path, delay, error.kind)
                await anyio.sleep(delay)
                attempt += 1

    async def run(
        self, owner: str, project: str, params: Mapping[str, Any], files: Sequence[FilePart] = ()
    ) -> RunAnswer:
        """Start a task. Never retried once the request may have reached Wiro.

        A 5xx or unreadable answer may come from a gateway after Wiro created the task: like a lost
        answer, it is a WiroTransportError with sent_maybe set."""
        if not all(_path_segment(p) for p in (owner, project)):
            raise WiroValidationError(f"{owner!r}/{project!r} is not a model slug; nothing was sent")
        path = f"Run/{quote(owner, safe='')}/{quote(project, safe='')}"
        try:
            if files:
                data = {k: _form_value(v) for k, v in params.items()}
                for part in files:
                    if (
                        part.has_url_field
                    ):  # the bytes travel in `{id}`; `{id}Url` is empty unless it has URLs
                        data.setdefault(f"{part.part}Url", "")
                multipart = [(p.part, (p.filename, p.data, p.contenttype)) for p in files]
                body = await self._post(path, creates=True, data=data, files=multipart)
            else:
                body = await self._post(path, creates=True, json=dict(params))
            if not body.get("taskid"):
                raise WiroServerError("Wiro accepted the Run but gave no taskid")
        except WiroServerError as exc:
            raise WiroTransportError(
                f"Wiro's answer to Run was unusable ({exc}); the request may have been received",
                sent_maybe=True,
            ) from None
        return RunAnswer.model_validate(body)

    @staticmethod
    def _ids(taskid: str | None, tasktoken: str | None) -> dict[str, str]:
        if not taskid and not tasktoken:
            raise ValueError("a taskid or a tasktoken is needed")
        ids: dict[str, str] = {}
        if taskid:
            ids["taskid"] = taskid
        if tasktoken:
            ids["tasktoken"] = tasktoken
        return ids

    async def detail(self, *, taskid: str | None = None, tasktoken: str | None = None) -> Task:
        # Detail takes one identifier; the task id is the stable one.
        ids = {"taskid": taskid} if taskid else self._ids(None, tasktoken)
        body = await self._post("Task/Detail", creates=False, json=ids)
        tasks = body.get("tasklist")
        if not isinstance(tasks, list) or not tasks:
            raise WiroNotFoundError(f"no task {taskid or tasktoken}", code=1)
        return Task.model_validate(tasks[0])

    async def _stop(self, path: str, taskid: str | None, tasktoken: str | None) -> Task | None:
        ids = self._ids(taskid, tasktoken)
        if tasktoken:
            ids["socketaccesstoken"] = tasktoken  # sources disagree on the field name: send every one held
        body = await self._post(path, creates=False, json=ids)
        tasks = body.get("tasklist")
        return Task.model_validate(tasks[0]) if isinstance(tasks, list) and tasks else None

    async def kill(self, *, taskid: str | None = None, tasktoken: str | None = None) -> Task | None:
        """Stop a running task."""
        return await self._stop("Task/Kill", taskid, tasktoken)

    async def cancel(self, *, taskid: str | None = None, tasktoken: str | None = None) -> Task | None:
        """Take a task out of the queue before it runs."""
        return await self._stop("Task/Cancel", taskid, tasktoken)

    async def upload(self, filename: str, data: bytes, contenttype: str) -> Output:
        body = await self._post("File/Upload", creates=True, files=[("file", (filename, data, contenttype))])
        files = body.get("list")
        if not isinstance(files, list) or not files:
            raise WiroServerError("Wiro accepted the upload but listed no file")
        return Output.model_validate(files[0])

    async def tool_list(self, **filters: Any) -> dict[str, Any]:
        payload = {"start": "0", "limit": "20", **{k: v for k, v in filters.items() if v is not None}}
        return await self._post("Tool/List", creates=False, json=payload)

    async def tool_detail(self, owner: str, project: str) -> dict[str, Any]:
        return await self._post(
            "Tool/Detail", creates=False, json={"slugowner": owner, "slugproject": project}
        )
