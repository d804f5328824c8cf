"""The Wiro emulator: Wiro's endpoints, request and answer shapes, on a Starlette app.

Used by `wiro-mcp sandbox` (standalone), by `--sandbox` (in-process) and by the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.jsonish import as_list
from wiro_mcp.sandbox import SANDBOX_API_KEY
from wiro_mcp.sandbox.answers import llm_output, transcript
from wiro_mcp.sandbox.generated import generated_models
from wiro_mcp.sandbox.listing import detail_items, searchable, tool_summary
from wiro_mcp.sandbox.media import output_file
from wiro_mcp.sandbox.prices import CPS
from wiro_mcp.sandbox.socket import SocketChannel
from wiro_mcp.sandbox.state import Fault, LoggedRequest, SandboxState, SandboxTask
from wiro_mcp.wiro.models import QUEUED_STATUSES, TERMINAL_STATUSES

SIGNATURE_REQUIRED = (
    "Project requires signature authentication. x-signature and x-nonce headers are required."
)


def expected_signature(api_key: str, api_secret: str, nonce: str) -> str:
    """Wiro's documented x-signature, computed here independently of the client's signing code, so
    that a signing mistake in the client cannot pass against the emulator."""
    mac = hmac.HMAC(api_key.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(api_secret.encode("utf-8"))
    mac.update(nonce.encode("utf-8"))
    return mac.hexdigest()


def _fail(code: int, message: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"result": False, "errors": [{"code": code, "message": message}]}, status_code=status)


class _DropAfter(Response):
    """An answer cut short: headers promise a body that never fully arrives."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"400")]})
        await send({"type": "http.response.body", "body": b'{"result": true, "err', "more_body": False})


class Emulator:
    """A faithful-enough Wiro for trying the server and for testing it."""

    def __init__(
        self,
        specs: list[ModelSpec],
        *,
        api_key: str = SANDBOX_API_KEY,
        api_secret: str | None = None,
        seconds: dict[str, float] | None = None,
        extra_models: int = 0,
        shared_sockets: bool = False,
    ) -> None:
        generated = generated_models(extra_models)
        self.state = SandboxState([*specs, *(spec for spec, _ in generated)], seconds)
        # The slug as the listing shows it, where it differs from the clean slug Run takes.
        self.listed_slugs = {spec.slug.lower(): listed for spec, listed in generated}
        self._api_key = api_key
        self._api_secret = api_secret
        self.socket = SocketChannel(self.state, self._make_outputs)
        self.socket.several_per_connection = shared_sockets
        self.app = Starlette(
            routes=[
                WebSocketRoute("/v1", self.socket.serve),  # Wiro's socket URL is its own host's /v1
                Route("/v1/Run/{owner}/{project}", self._run, methods=["POST"]),
                Route("/v1/Task/Detail", self._detail, methods=["POST"]),
                Route("/v1/Task/Kill", self._kill, methods=["POST"]),
                Route("/v1/Task/Cancel", self._cancel, methods=["POST"]),
                Route("/v1/File/Upload", self._upload, methods=["POST"]),
                Route("/v1/Tool/List", self._tool_list, methods=["POST"]),
                Route("/v1/Tool/Detail", self._tool_detail, methods=["POST"]),
                Route("/files/{uuid}/{name}", self._file, methods=["GET", "HEAD"]),
            ]
        )

    def __repr__(self) -> str:
        return f"Emulator(models={len(self.state.models)})"

    # ----- plumbing shared by every API endpoint
    async def _read(self, request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        kind = request.headers.get("content-type", "")
        if kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            body: dict[str, Any] = {}
            files: dict[str, bytes] = {}
            uploads: dict[str, tuple[str, str]] = {}  # part → (file name, content type), as sent
            seen: Counter[str] = Counter()
            request.state.uploads = uploads
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    # A repeated part (several files of one input) is kept as `key#1`, `key#2`, …
                    name = f"{key}#{seen[key]}" if seen[key] else key
                    seen[key] += 1
                    files[name] = await value.read()
                    uploads[name] = (value.filename or "", value.content_type or "")
                elif key in body:  # a repeated field (URLs of a combinefileinput): a list
                    before = body[key]
                    body[key] = [*(before if isinstance(before, list) else [before]), value]  # pyright: ignore[reportUnknownVariableType]
                else:
                    body[key] = value
            await form.close()
            return body, files
        raw = await request.body()
        if not raw:
            return {}, {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {"__invalid__": True}, {}
        return (data if isinstance(data, dict) else {"__invalid__": True}), {}  # pyright: ignore[reportUnknownVariableType]

    def _auth_error(self, request: Request) -> JSONResponse | None:
        key = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(key, self._api_key):
            return _fail(0, "Invalid API key", 401)
        if self._api_secret is None:
            return None
        nonce, sig = request.headers.get("x-nonce"), request.headers.get("x-signature")
        if not nonce or not sig:
            return _fail(0, SIGNATURE_REQUIRED, 401)
        if not hmac.compare_digest(sig, expected_signature(self._api_key, self._api_secret, nonce)):
            return _fail(0, "Invalid signature", 401)
        return None

    async def _enter(
        self, request: Request, endpoint: str
    ) -> tuple[dict[str, Any], dict[str, bytes], Response | None, Fault | None]:
        body, files = await self._read(request)
        denied = self._auth_error(request)
        self.state.log.append(
            LoggedRequest(endpoint, body, files, signed=denied is None, time=time.monotonic())
        )
        if denied is not None:
            return body, files, denied, None
        return body, files, *await self._injected(endpoint)

    async def _injected(self, endpoint: str) -> tuple[Response | None, Fault | None]:
        """The next fault injected for `endpoint`, played: (the answer given instead of the real one,
        or a drop to apply to the real one)."""
        fault = self.state.take_fault(endpoint)
        if fault is None or fault.kind == "drop":
            return None, fault
        if fault.kind == "slow":
            await anyio.sleep(fault.seconds)
            return None, None
        if fault.kind == "http":
            reason = {429: "Too Many Requests", 503: "Service Unavailable"}.get(fault.status, "Server error")
            answer = _fail(0, reason, fault.status)
            if fault.retry_after is not None:
                answer.headers["retry-after"] = f"{fault.retry_after:g}"
            return answer, None
        if fault.kind == "wiro":
            return _fail(fault.code, fault.message or "Injected error"), None
        return None, None

    @staticmethod
    def _finish(answer: Response, fault: Fault | None) -> Response:
        return _DropAfter() if fault is not None and fault.kind == "drop" else answer

    # ----- endpoints
    async def _run(self, request: Request) -> Response:
        body, files, early, fault = await self._enter(request, "Run")
        if early is not None:
            return early
        if body.get("__invalid__"):
            return _fail(0, "Request body is not valid JSON")
        owner, project = request.path_params["owner"], request.path_params["project"]
        spec = self.state.find_model(owner, project)
        if spec is None:
            return _fail(1, "slug-owner-project-not-exist")
        problem = _check_params(spec, body, files)
        if problem:
            return _fail(0, problem)
        params = {k: v for k, v in body.items() if k not in ("callbackUrl", "projectid")}
        for name, data in files.items():
            filename, contenttype = request.state.uploads.get(name, ("", ""))
            said = f"sandbox-upload:{filename or name} ({contenttype or 'no type'}, {len(data)} bytes)"
            part = name.split("#", 1)[0]
            before = params.get(part)
            earlier: list[Any] = before if isinstance(before, list) else [before]  # pyright: ignore[reportUnknownVariableType]
            params[part] = said if before in (None, "") else [*earlier, said]
        # Its files are served at the host this Run was sent to, whichever request shows them first
        # (the socket may be reached under another name: a URL at neither Wiro's host nor https is,
        # rightly, not fetched).
        task = self.state.create_task(spec, params, files_root=str(request.base_url).rstrip("/"))
        answer: dict[str, Any] = {
            "errors": [],
            "taskid": task.id,
            "socketaccesstoken": task.token,
            "result": True,
        }
        return self._finish(JSONResponse(answer), fault)

    def _task_or_error(self, body: dict[str, Any]) -> SandboxTask | JSONResponse:
        taskid = str(body.get("taskid") or "") or None
        token = str(body.get("tasktoken") or body.get("socketaccesstoken") or "") or None
        if not taskid and not token:
            return _fail(0, "Request parameter [taskid] required")
        task = self.state.find_task(taskid, token)
        return task if task is not None else _fail(1, "task-not-exist")

    async def _detail(self, request: Request) -> Response:
        return await self._task_endpoint(request, "Task/Detail", None)

    async def _kill(self, request: Request) -> Response:
        return await self._task_endpoint(request, "Task/Kill", "kill")

    async def _cancel(self, request: Request) -> Response:
        return await self._task_endpoint(request, "Task/Cancel", "cancel")

    async def _task_endpoint(self, request: Request, endpoint: str, action: str | None) -> Response:
        body, _files, early, fault = await self._enter(request, endpoint)
        if early is not None:
            return early
        found = self._task_or_error(body)
        if isinstance(found, JSONResponse):
            return found
        now = time.monotonic()
        status = found.status(now)
        if action is not None:
            if status in TERMINAL_STATUSES:
                return _fail(0, f"Task is already finished ({status})")
            if action == "cancel" and status not in QUEUED_STATUSES:
                return _fail(0, "Only queued tasks can be cancelled; use Task/Kill for a running task")
            found.stopped_at = now
        answer: dict[str, Any] = {
            "total": "1",
            "errors": [],
            "tasklist": [self._task_json(found, now)],
        }
        answer["result"] = True
        return self._finish(JSONResponse(answer), fault)

    async def _upload(self, request: Request) -> Response:
        _body, files, early, fault = await self._enter(request, "File/Upload")
        if early is not None:
            return early
        if "file" not in files:
            return _fail(0, "Request parameter [file] required")
        data = files["file"]
        key = f"upload-{self.state.files.stored + 1}"
        self.state.files.put(f"{key}/file", "application/octet-stream", data)
        url = str(request.base_url).rstrip("/") + f"/files/{key}/file"
        item = {
            "id": key,
            "name": "file",
            "contenttype": "application/octet-stream",
            "size": str(len(data)),
            "url": url,
        }
        return self._finish(JSONResponse({"result": True, "errors": [], "list": [item]}), fault)

    async def _tool_list(self, request: Request) -> Response:
        body, _files, early, fault = await self._enter(request, "Tool/List")
        if early is not None:
            return early
        words = str(body.get("search") or "").lower().split()
        wanted = {str(c).lower() for c in as_list(body.get("categories"))}
        found = [
            s
            for s in self.state.models.values()
            if all(w in searchable(s) for w in words)
            and (not wanted or wanted & {c.lower() for c in s.categories})
        ]
        start, limit = _int(body.get("start"), 0), _int(body.get("limit"), 20)
        page = [tool_summary(s, self.listed_slugs.get(s.slug.lower())) for s in found[start : start + limit]]
        return self._finish(
            JSONResponse({"result": True, "errors": [], "total": len(found), "tool": page}), fault
        )

    async def _tool_detail(self, request: Request) -> Response:
        body, _files, early, fault = await self._enter(request, "Tool/Detail")
        if early is not None:
            return early
        spec = self.state.find_model(str(body.get("slugowner", "")), str(body.get("slugproject", "")))
        if spec is None:
            return _fail(1, "slug-owner-project-not-exist")
        detail = {
            **tool_summary(spec, self.listed_slugs.get(spec.slug.lower())),
            "readme": f"<p>{spec.description}</p>",
            "parameters": [{"title": "Inputs", "items": detail_items(spec)}],
            "inspire": list(spec.examples),
        }
        return self._finish(JSONResponse({"result": True, "errors": [], "tool": [detail]}), fault)

    async def _file(self, request: Request) -> Response:
        key = f"{request.path_params['uuid']}/{request.path_params['name']}"
        self.state.log.append(LoggedRequest("files", {"key": key}, {}, signed=False, time=time.monotonic()))
        early, fault = await self._injected("files")  # a slow CDN, say
        if early is not None:
            return early
        found = self.state.files.get(key)
        if found is None:
            return Response(status_code=404)
        contenttype, data = found
        return self._finish(Response(data, media_type=contenttype), fault)

    # ----- task rendering
    def _task_json(self, task: SandboxTask, now: float) -> dict[str, Any]:
        status = task.status(now)
        elapsed = min(task.elapsed(now), task.seconds)
        done = status == "task_postprocess_end"
        failed = done and task.fail is not None
        if done and not failed and not task.outputs:
            task.outputs = self._make_outputs(task)
        stamp = str(task.created_epoch)
        began = task.created_epoch + int(task.seconds * 0.3)
        return {
            "id": task.id,
            "uuid": task.uuid,
            "socketaccesstoken": task.token,
            "parameters": task.params,
            "status": status,
            "pexit": ("1" if failed else "0") if done else "",
            "debugoutput": text_of(task) if done and not failed else "",
            "debugerror": (task.fail or "") if done else "",
            "createtime": stamp,
            "accepttime": stamp,
            "starttime": str(began) if elapsed >= task.seconds * 0.3 else "0",
            "endtime": str(task.created_epoch + int(task.seconds * 0.85)) if done else "0",
            "canceltime": str(int(time.time())) if status == "task_cancel" else "0",
            "elapsedseconds": f"{elapsed:.4f}",
            "cps": f"{CPS:.12f}",
            "totalcost": "0" if failed or not done else f"{task.cost:.12f}",
            "modelslugowner": task.spec.owner,
            "modelslugproject": task.spec.project,
            "outputs": task.outputs if done and not failed else [],
        }

    def _make_outputs(self, task: SandboxTask) -> list[dict[str, Any]]:
        """A finished task's outputs: an LLM's raw answer, none for a transcript (its text is in
        debugoutput), else one file."""
        if task.kind == "llm":
            return [llm_output(task.params, task.turn)[0]]
        if task.kind == "transcript":
            return []
        return [self._make_output(task)]

    def _make_output(self, task: SandboxTask) -> dict[str, Any]:
        name, contenttype, data = output_file(task.spec.effective_media, f"{task.id}:{task.params}")
        self.state.files.put(f"{task.uuid}/{name}", contenttype, data)
        url = f"{task.files_root}/files/{task.uuid}/{name}"
        return {
            "id": task.uuid.replace("-", "")[:32],
            "name": name,
            "contenttype": contenttype,
            "uuid": task.uuid,
            "size": str(len(data)),
            "addedtime": str(int(time.time())),
            "url": url,
        }


def text_of(task: SandboxTask) -> str:
    """A finished task's debugoutput: an LLM's merged answer, a transcript, or nothing."""
    if task.kind == "llm":
        return llm_output(task.params, task.turn)[1]
    return transcript(task.params) if task.kind == "transcript" else ""


def _check_params(spec: ModelSpec, body: dict[str, Any], files: dict[str, bytes]) -> str | None:
    """Wiro's own checks: required inputs present and select values among the options."""
    for item in spec.inputs:
        value = body.get(item.id)
        if item.is_file and value in (None, ""):
            value = body.get(item.url_field)
        if item.required and value in (None, "") and not (item.is_file and item.file_part in files):
            return f"Request parameter [{item.id}] required"
        if (
            item.type == "select"
            and value not in (None, "")
            and str(value) not in {o.value for o in item.options}
        ):
            return f"Request parameter [{item.id}] is not valid"
    return None


def _int(value: Any, default: int) -> int:
    try:
        return max(int(str(value)), 0)
    except ValueError:
        return default
