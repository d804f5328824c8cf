"""One TLS context for every connection the server makes (Wiro's API, its socket, its CDN, an OAuth
issuer), made at the first connection that needs it: loading the certificates takes about 20 ms of
CPU each time (more the first time), which three clients made at start-up spent three times before
the first tools/list could be answered."""

from __future__ import annotations

import functools
import ssl

import httpx2


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """httpx2's own default context (the system's certificates, or SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx2.create_ssl_context()
