"""One TLS context per verification setting, shared by every client of the process.

httpx builds a new `ssl.SSLContext` for each client it is not given one, which loads
the CA store: about 30 ms of CPU per client, on every `get_client()` of every task.
A context is safe to share between clients, threads and event loops once built, so
the clients of this package take theirs from here.
"""

from __future__ import annotations

import os
import ssl
import threading

import httpx

__all__ = ["tls_context"]

_Key = tuple[bool | str, int | None, str | None, str | None]
_CONTEXTS: dict[_Key, ssl.SSLContext] = {}
_LOCK = threading.Lock()


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The process's TLS context for `verify`, built once as httpx would build it.

    Args:
        verify: True (the system's and certifi's CAs, honouring `SSL_CERT_FILE` and
            `SSL_CERT_DIR`), False (no verification) or the path of a CA bundle
            (read again when the file changes).

    Returns:
        A context to pass as httpx's `verify`.

    Examples:
        >>> tls_context(True) is tls_context(True)
        True
        >>> tls_context(False).verify_mode == ssl.CERT_NONE
        True
    """
    stamp: int | None = None
    if isinstance(verify, str):
        try:
            stamp = os.stat(verify).st_mtime_ns
        except OSError:
            stamp = None  # _build raises the clear error
    key = (verify, stamp, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = _CONTEXTS[key] = _build(verify)
        return context


def _build(verify: bool | str) -> ssl.SSLContext:
    if isinstance(verify, bool):
        return httpx.create_ssl_context(verify=verify)
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)  # a missing file raises here
