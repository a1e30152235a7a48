"""What a client call can raise, and the one place foreign errors become ours.

::

    Exception
     ├── kubesvc.api.errors.StatusError     the server answered with an error Status
     │    ├── NotFound (404)                 its reason picks the class: see STATUS_CLASSES;
     │    ├── AlreadyExists, Conflict (409)  code, reason, message and details are the
     │    ├── Invalid (422)                  server's own, kept as they came
     │    ├── BadRequest (400), Forbidden (403), MethodNotAllowed (405)
     │    ├── Expired, Gone (410)            a watch or list asked for a compacted revision
     │    └── InternalError (500), ServiceUnavailable (503), Timeout (504), ...
     └── ClientError                         nothing the server said explains the failure
          ├── ApiUnavailable                 transport: refused, reset, cut stream, timeout
          │    └── TLSError                  a certificate was refused (never retried)
          ├── ResponseError                  an answer that is not what the API sends
          └── ConfigError                    kubeconfig or in-cluster settings unusable

A ``StatusError`` means the request reached the API and was judged; retrying
it unchanged gets the same answer (except 5xx, 409 Conflict and 429). An
``ApiUnavailable`` means we do not know whether a write happened, so only
reads are retried automatically.

``status_error`` turns an HTTP error answer (code and body) into the matching
``StatusError`` subclass; ``map_transport_errors`` wraps aiohttp calls so that
transport exceptions leave as ``ApiUnavailable`` (``raise ... from exc``).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from kubesvc.api import errors as api_errors

StatusError = api_errors.StatusError


class ClientError(Exception):
    """A failure on the client's side of the wire (see the module docstring)."""


class ApiUnavailable(ClientError):
    """The API could not be reached, or the connection broke mid-answer."""


class TLSError(ApiUnavailable):
    """The TLS handshake failed: retrying cannot help until the configuration changes."""


class ResponseError(ClientError):
    """The server's answer could not be understood (bad JSON, unexpected shape)."""


class ConfigError(ClientError):
    """The client configuration (kubeconfig, in-cluster files) is unusable."""


STATUS_CLASSES: dict[str, type[StatusError]] = {
    "NotFound": api_errors.NotFound,
    "AlreadyExists": api_errors.AlreadyExists,
    "Conflict": api_errors.Conflict,
    "Invalid": api_errors.Invalid,
    "BadRequest": api_errors.BadRequest,
    "Forbidden": api_errors.Forbidden,
    "Expired": api_errors.Expired,
    "Gone": api_errors.Gone,
    "MethodNotAllowed": api_errors.MethodNotAllowed,
    "NotAcceptable": api_errors.NotAcceptable,
    "UnsupportedMediaType": api_errors.UnsupportedMediaType,
    "RequestEntityTooLarge": api_errors.RequestEntityTooLarge,
    "InternalError": api_errors.InternalError,
    "ServiceUnavailable": api_errors.ServiceUnavailable,
    "Timeout": api_errors.Timeout,
}
"""Status reason -> class. A reason we do not know falls back to the code."""

CODE_CLASSES: dict[int, tuple[type[StatusError], str]] = {
    400: (api_errors.BadRequest, "BadRequest"),
    401: (StatusError, "Unauthorized"),
    403: (api_errors.Forbidden, "Forbidden"),
    404: (api_errors.NotFound, "NotFound"),
    405: (api_errors.MethodNotAllowed, "MethodNotAllowed"),
    406: (api_errors.NotAcceptable, "NotAcceptable"),
    409: (api_errors.Conflict, "Conflict"),
    410: (api_errors.Gone, "Gone"),
    413: (api_errors.RequestEntityTooLarge, "RequestEntityTooLarge"),
    415: (api_errors.UnsupportedMediaType, "UnsupportedMediaType"),
    422: (api_errors.Invalid, "Invalid"),
    429: (StatusError, "TooManyRequests"),
    500: (api_errors.InternalError, "InternalError"),
    503: (api_errors.ServiceUnavailable, "ServiceUnavailable"),
    504: (api_errors.Timeout, "Timeout"),
}
"""HTTP code -> (class, reason) for answers whose body names no known reason."""

_GENERIC_MESSAGES: dict[int, str] = {
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials",
    403: "the server does not allow access to the requested resource",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    410: "the server reported that the requested resource is gone",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    500: "an error on the server has prevented the request from succeeding",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be "
    "processing the request",
}


def status_error_from_status(status: dict[str, Any], code: int = 0) -> StatusError:
    """The ``StatusError`` a decoded ``Status`` object stands for.

    The instance carries the Status's own code, reason, message and details,
    whatever class is chosen (subclass constructors are bypassed on purpose:
    they build messages, and here the server already did).
    """
    raw_code = status.get("code")
    code = raw_code if isinstance(raw_code, int) and raw_code else code
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "")
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    cls = STATUS_CLASSES.get(reason)
    if cls is None:
        cls, fallback_reason = CODE_CLASSES.get(code, (StatusError, ""))
        reason = reason or fallback_reason
    if not message:
        message = _GENERIC_MESSAGES.get(code, f"the server responded with the status code {code}")
    err = cls.__new__(cls)
    StatusError.__init__(err, message, code=code, reason=reason, details=details)
    if isinstance(err, api_errors.Invalid):
        # The server's field errors are in details["causes"]; they cannot be
        # turned back into FieldError values without guessing.
        err.errors = []
    return err


def status_error(code: int, body: bytes) -> StatusError:
    """The ``StatusError`` for an HTTP error answer with status ``code`` and ``body``."""
    status: dict[str, Any] = {}
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        status = decoded
    elif body.strip():
        # Not a Status (a proxy's page, a plain-text error): keep the text short.
        text = body.decode("utf-8", "replace").strip()
        status = {"message": text[:512]}
    return status_error_from_status(status, code)


@contextmanager
def map_transport_errors(method: str, url: str) -> Iterator[None]:
    """Translate aiohttp's and the socket layer's exceptions into ``ApiUnavailable``."""
    try:
        yield
    except (aiohttp.ClientSSLError, ssl.SSLCertVerificationError) as exc:
        raise TLSError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as exc:
        raise ApiUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    except TimeoutError as exc:
        raise ApiUnavailable(f"{method} {url}: timed out") from exc
