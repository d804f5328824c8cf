"""Who is calling: the person an OAuth access token names, and what its scopes let them do.

On stdio, or HTTP with the static token, the server is one person's: the caller is nobody in
particular (owner "") and may do everything. Behind OAuth every caller is the token's subject, with
its scopes: `wiro:run` to start paid tasks, `wiro:read` for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

RUN_SCOPE = "wiro:run"
READ_SCOPE = "wiro:read"
SCOPES = (READ_SCOPE, RUN_SCOPE)


@dataclass(frozen=True)
class Caller:
    owner: str  # the token's subject; "" on a server for one person
    scopes: frozenset[str] | None  # None: no token, so no OAuth: everything is allowed

    @property
    def signed_in(self) -> bool:
        return self.scopes is not None

    def may(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


ONE_PERSON = Caller(owner="", scopes=None)


def caller_of(ctx: ServerRequestContext[Any]) -> Caller:
    """The caller of this request: its HTTP request's authenticated user (set by the SDK's bearer
    authentication, per request), or one person when there is none."""
    scope: dict[str, Any] = getattr(ctx.request, "scope", None) or {}
    user = scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        return ONE_PERSON
    token = user.access_token
    return Caller(owner=token.subject or "", scopes=frozenset(token.scopes))


def confirmation_scope(endpoint: str, ctx: ServerRequestContext[Any]) -> str:
    """What an approval holds for: this Wiro endpoint and account, and the person asked."""
    owner = caller_of(ctx).owner
    return f"{endpoint}|{owner}" if owner else endpoint
