"""Asking the human before a costly run, through MCP elicitation, in both protocol eras.

2025-11-25 clients are sent an `elicitation/create` request in the middle of the call. 2026-07-28 has
no server-to-client requests: the call answers `InputRequiredResult`, the client asks the human and
calls again with the answer and our `requestState`. That state is a nonce, an expiry and an HMAC
over both and the account, the model, the exact arguments and the quote: an answer approves only
the call it was asked about, once, within STATE_SECONDS, on the server that asked.

The question shows every value on one line, cut, with control characters escaped, and the price
first: an argument cannot pose as a line of the question.

No answer, a decline, or a client that cannot ask: nothing is sent, and the result says why. A client
that cannot ask but renders MCP Apps (claude.ai) gets the question in the task viewer instead: the
refusal carries, in its `_meta` only (never in text or structured content a model reads), a
confirmation id of the same single-use, expiring, call-bound kind, which the viewer's "Confirm and
run" button hands to the app-only tool `confirm_run`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.apps import client_supports_apps
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from wiro_mcp.catalog.validate import one_line
from wiro_mcp.errors import ConfigError, JournalError
from wiro_mcp.mcp.results import error_result
from wiro_mcp.tasks import Prepared

log = logging.getLogger(__name__)

CONFIRM_KEY = "confirm"
ANSWER_SECONDS = 300.0  # how long a 2025-era call waits for the human's answer
MAX_ARGUMENTS_SHOWN = 6
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirm": {"type": "boolean", "title": "Start this paid run", "default": False},
    },
    "required": ["confirm"],
}
ELICITATION = types.ClientCapabilities(elicitation=types.ElicitationCapability())
STATE_SECONDS = 600.0  # how long a 2026-era question can be answered
# Per process unless WIRO_MCP_STATE_KEYS names shared ones: then an approval asked on one replica
# is taken on any. The first key signs, every key verifies (so keys rotate without downtime).
_KEYS: list[bytes] = [secrets.token_bytes(32)]
MIN_KEY_BYTES = 16
MAX_ANSWERED = 10_000
_answered: dict[str, float] = {}  # nonces of questions answered already, until they expire

Context = ServerRequestContext[Any]
Once = Callable[[str, float], Awaitable[bool]]  # True the first time a key is used (TaskJournal.first_use)
Answer = types.CallToolResult | types.InputRequiredResult | None


def use_state_keys(keys: Sequence[bytes]) -> None:
    """Sign approvals with these keys from now on (none given: keep this process's own)."""
    if any(len(k) < MIN_KEY_BYTES for k in keys):
        raise ConfigError(f"WIRO_MCP_STATE_KEYS: each key must be at least {MIN_KEY_BYTES} characters")
    if keys:
        _KEYS[:] = list(keys)


def _mac(nonce: str, expires: str, scope: str, prepared: Prepared, key: bytes | None = None) -> str:
    canonical = json.dumps(
        [nonce, expires, scope, prepared.entry.spec.slug, prepared.params, prepared.quote.high],
        sort_keys=True,
        default=str,
    )
    return hmac.new(key or _KEYS[0], canonical.encode(), hashlib.sha256).hexdigest()


def new_state(scope: str, prepared: Prepared) -> str:
    """A fresh question's state: `nonce.expiry.mac`. `scope` names the Wiro endpoint and account."""
    nonce, expires = secrets.token_hex(16), str(int(time.time() + STATE_SECONDS))
    return f"{nonce}.{expires}.{_mac(nonce, expires, scope, prepared)}"


def take_state(state: str, scope: str, prepared: Prepared) -> bool:
    """True once for a state this server made for exactly this call that has not expired; every later
    use of it (a replay) is False."""
    now = time.time()
    for nonce, expiry in list(_answered.items()):
        if expiry < now:
            del _answered[nonce]
    nonce, _, rest = state.partition(".")
    expires, _, mac = rest.partition(".")
    if not (expires.isdigit() and len(expires) <= 12) or int(expires) < now or nonce in _answered:
        return False
    # Full of answers still live: none is taken (asked again) rather than an old one forgotten.
    if len(_answered) >= MAX_ANSWERED:
        return False
    if not any(hmac.compare_digest(mac, _mac(nonce, expires, scope, prepared, key)) for key in _KEYS):
        return False
    _answered[nonce] = float(expires)
    return True


async def take_shared_state(state: str, scope: str, prepared: Prepared, once: Once) -> bool:
    """take_state, and the first use of this state for every process sharing the journal (`once`):
    replicas each keep their own memory of what was answered, the journal keeps everyone's. A
    journal that cannot say approves nothing (the human is asked again)."""
    if not take_state(state, scope, prepared):
        return False
    nonce, _, rest = state.partition(".")
    try:
        return await once(f"confirm:{nonce}", float(rest.partition(".")[0]))
    except JournalError as exc:
        log.error("a confirmation could not be checked against the journal: %s", exc)
        return False


def question(prepared: Prepared, threshold: float) -> str:
    """What the human is asked: the price first and apart, then the model and its arguments, each
    value on one line."""
    items = list(prepared.params.items())
    shown = [
        f"  {one_line(k, 40)}: {one_line(json.dumps(v, ensure_ascii=False, default=str), 80)}"
        for k, v in items[:MAX_ARGUMENTS_SHOWN]
    ]
    more = len(items) - MAX_ARGUMENTS_SHOWN
    if more > 0:
        shown.append(f"  … and {more} more")
    return "\n".join(
        [
            f"PRICE: {prepared.quote.text()}. Wiro bills only if the run succeeds.",
            "",
            f"Start a paid Wiro run of {one_line(prepared.entry.spec.slug, 120)} with these arguments?",
            *shown,
            "",
            f"(You are asked about runs above ${threshold:g}, or of unknown price: WIRO_MCP_CONFIRM_ABOVE_USD.)",
        ]
    )


def _refused(label: str, why: str, prepared: Prepared) -> types.CallToolResult:
    return error_result(f"{label}: not started, {why}. Quoted: {prepared.quote.text()}. Nothing was sent.")


MAX_PENDING = 1_000
# Confirmations offered in a viewer, not yet used: id → (model slug, arguments). Bounded: the oldest go.
_pending: dict[str, tuple[str, dict[str, Any]]] = {}
VIEWER_CONFIRM_KEY = "wiro-mcp/confirm"  # where a result's _meta carries a confirmation for the viewer


def pending_call(confirmation: str) -> tuple[str, dict[str, Any]] | None:
    """The model and arguments a viewer's confirmation id was made for (checked again when used)."""
    return _pending.get(confirmation)


async def take_confirmation(confirmation: str, scope: str, prepared: Prepared, once: Once) -> bool:
    """True once for an id made for exactly this call, unexpired; then it is gone."""
    if not await take_shared_state(confirmation, scope, prepared, once):
        return False
    _pending.pop(confirmation, None)
    return True


def _in_viewer(label: str, threshold: float, prepared: Prepared, scope: str) -> types.CallToolResult:
    """The question put to the human in the task viewer: the model reads only that it waits for them."""
    confirmation = new_state(scope, prepared)
    _pending[confirmation] = (prepared.entry.spec.slug, dict(prepared.params))
    while len(_pending) > MAX_PENDING:
        _pending.pop(next(iter(_pending)))
    result = _refused(
        label,
        f"because it needs a human's confirmation (above ${threshold:g}, WIRO_MCP_CONFIRM_ABOVE_USD): it is "
        "waiting for them in the task viewer (Confirm and run). Do not call it again; tell the user",
        prepared,
    )
    result.meta = {
        VIEWER_CONFIRM_KEY: {
            "confirmation": confirmation,
            "question": question(prepared, threshold),
            "quote": prepared.quote.text(),
        }
    }
    return result


def _unsupported(
    label: str, threshold: float, prepared: Prepared, ctx: Context, scope: str
) -> types.CallToolResult:
    if client_supports_apps(ctx):
        return _in_viewer(label, threshold, prepared, scope)
    price = "its price is unknown" if prepared.quote.high is None else f"it costs more than ${threshold:g}"
    return _refused(
        label,
        f"because {price}, so the human must confirm it (WIRO_MCP_CONFIRM_ABOVE_USD), and this client cannot "
        "ask (it offers no MCP elicitation). To run it, raise WIRO_MCP_CONFIRM_ABOVE_USD in the server's "
        "settings, or use a client that supports elicitation",
        prepared,
    )


def _verdict(label: str, answer: types.ElicitResult, prepared: Prepared) -> types.CallToolResult | None:
    if answer.action == "accept" and (answer.content or {}).get(CONFIRM_KEY) is True:
        return None
    said = "declined" if answer.action != "cancel" else "dismissed the question"
    return _refused(label, f"the human {said}", prepared)


async def _answer_in(ctx: Context, scope: str, prepared: Prepared, once: Once) -> types.ElicitResult | None:
    """The human's answer carried by a 2026-era retry of this very call, if any: used once."""
    try:
        params = types.CallToolRequestParams.model_validate(ctx.params or {})
    except ValidationError:
        return None
    answer = (params.input_responses or {}).get(CONFIRM_KEY)
    if not isinstance(answer, types.ElicitResult) or params.request_state is None:
        return None
    if not await take_shared_state(params.request_state, scope, prepared, once):
        return None  # an answer to another question, an old one, or one used already: ask again
    return answer


async def confirm(
    ctx: Context, label: str, prepared: Prepared, threshold: float, *, scope: str, once: Once
) -> Answer:
    """None to go ahead; otherwise what to answer the call with (a refusal, or a 2026-era question).
    `scope` names the Wiro endpoint and account an approval holds for; `once` takes a 2026-era
    answer's state once for every replica (the journal's first_use)."""
    message = question(prepared, threshold)
    can_ask = ctx.session.check_client_capability(ELICITATION)
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        answer = await _answer_in(ctx, scope, prepared, once)
        if answer is not None:
            return _verdict(label, answer, prepared)
        if not can_ask:
            return _unsupported(label, threshold, prepared, ctx, scope)
        ask = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=message, requested_schema=SCHEMA)
        )
        state = new_state(scope, prepared)
        return types.InputRequiredResult(input_requests={CONFIRM_KEY: ask}, request_state=state)
    if not can_ask:
        return _unsupported(label, threshold, prepared, ctx, scope)
    try:
        with anyio.fail_after(ANSWER_SECONDS):
            answer = await ctx.session.elicit_form(message, SCHEMA, related_request_id=ctx.request_id)
    except TimeoutError:
        return _refused(label, f"no answer came within {ANSWER_SECONDS:g} s", prepared)
    except Exception as exc:  # a client that declared elicitation but cannot answer: never a silent run
        log.info("confirmation could not be asked: %s", type(exc).__name__)
        return _unsupported(label, threshold, prepared, ctx, scope)
    return _verdict(label, answer, prepared)
