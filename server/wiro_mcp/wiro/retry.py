"""When a Wiro request may be sent again, and how long to wait first.

Reads (Task/Detail, Kill, Cancel, Tool/List, Tool/Detail) are retried on connection errors, 408,
429 and 5xx. Creating calls (Run, File/Upload) are retried only when the connection was never
made: once the request may have reached Wiro, a retry could start and bill a second task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from wiro_mcp.errors import WiroError, WiroRateLimitError, WiroServerError, WiroTransportError

RETRYABLE_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_READ_ATTEMPTS = 4
BASE_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = MAX_READ_ATTEMPTS
    base_delay: float = BASE_DELAY_SECONDS
    max_delay: float = MAX_DELAY_SECONDS


def should_retry(error: WiroError, *, creates: bool) -> bool:
    """May the request that raised `error` be sent again?"""
    if isinstance(error, WiroTransportError):
        return not error.sent_maybe or not creates
    if creates:
        return False
    if isinstance(error, WiroRateLimitError):
        return True
    return isinstance(error, WiroServerError) and error.http_status in RETRYABLE_HTTP_STATUSES


def retry_delay(error: WiroError, attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait before attempt `attempt + 1`; Wiro's Retry-After wins when it gave one."""
    if isinstance(error, WiroRateLimitError) and error.retry_after is not None:
        return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)
    backoff = min(policy.max_delay, policy.base_delay * (2**attempt))
    return backoff * (0.5 + random.random() / 2)  # jitter keeps many clients from retrying in step
