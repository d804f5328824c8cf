"""Errors of wiro-mcp, in one tree.

    WiroMcpError
    ├── SpecError            a catalog file or a model page that cannot be used (names file and field)
    ├── ConfigError          a setting or flag that cannot work (bad root, HTTP bind without token, …)
    ├── LocalFileError       a local file input that may not or cannot be read (nothing is sent)
    ├── JournalError         the task journal could not be read or written
    └── WiroError            anything Wiro (or the way to it) answered instead of a result
        ├── WiroAuthError            401/403, codes 98/99, signature refused, IP not allowed
        ├── WiroNotFoundError        404, code 1, unknown model slug or task
        ├── WiroBalanceError         code 97, insufficient balance
        ├── WiroConcurrencyError     code 96, concurrency limit reached
        ├── WiroRateLimitError       HTTP 429 (carries retry_after)
        ├── WiroValidationError      code 0 / HTTP 400, a parameter Wiro refused
        ├── WiroServerError          HTTP 5xx or an answer that is not Wiro's shape
        └── WiroTransportError       no usable answer: connect failure, timeout, dropped connection,
            or (for Run) a 5xx or unreadable answer; sent_maybe tells whether the request may have
            reached Wiro and started a task

Every WiroError carries Wiro's `code` (when it gave one), its `message`, and the HTTP status.
No error ever holds a credential.
"""

from __future__ import annotations


class WiroMcpError(Exception):
    """Base of every error this package raises on purpose."""


class SpecError(WiroMcpError):
    """A model spec or page that cannot be used; the message names the file and the field."""


class ConfigError(WiroMcpError):
    """A setting or flag that cannot work."""


class LocalFileError(WiroMcpError):
    """A local file input that may not, or cannot, be read."""


class JournalError(WiroMcpError):
    """The task journal could not be read or written."""


class WiroError(WiroMcpError):
    kind = "wiro_error"

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status

    def __str__(self) -> str:
        where: list[str] = []
        if self.code is not None:
            where.append(f"code {self.code}")
        if self.http_status is not None:
            where.append(f"HTTP {self.http_status}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.message}{suffix}"


class WiroAuthError(WiroError):
    kind = "auth"


class WiroNotFoundError(WiroError):
    kind = "not_found"


class WiroBalanceError(WiroError):
    kind = "insufficient_balance"


class WiroConcurrencyError(WiroError):
    kind = "concurrency_limit"


class WiroRateLimitError(WiroError):
    kind = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.retry_after = retry_after


class WiroValidationError(WiroError):
    kind = "validation"


class WiroServerError(WiroError):
    kind = "server_error"


class WiroTransportError(WiroError):
    kind = "transport"

    def __init__(self, message: str, *, sent_maybe: bool) -> None:
        super().__init__(message)
        self.sent_maybe = sent_maybe
