"""The one translation point: HTTP answers and Status bodies to StatusError classes,
watch lines to events, transport exceptions to ApiUnavailable."""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import pytest

from kubesvc.api import errors as e
from kubesvc.api.jsonenc import dumps
from kubesvc.client.errors import (
    ApiUnavailable,
    ClientError,
    ResponseError,
    TLSError,
    map_transport_errors,
    status_error,
)
from kubesvc.client.watch import decode_event


def status(code: int, reason: str, message: str = "m", **details: Any) -> bytes:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return dumps(body)


@pytest.mark.parametrize(
    ("code", "body", "cls", "reason", "message"),
    [
        pytest.param(404, status(404, "NotFound", 'services "x" not found'), e.NotFound,
                     "NotFound", 'services "x" not found', id="not-found"),
        pytest.param(409, status(409, "AlreadyExists"), e.AlreadyExists, "AlreadyExists", "m",
                     id="already-exists"),
        pytest.param(409, status(409, "Conflict"), e.Conflict, "Conflict", "m", id="conflict"),
        pytest.param(422, status(422, "Invalid"), e.Invalid, "Invalid", "m", id="invalid"),
        pytest.param(410, status(410, "Expired"), e.Expired, "Expired", "m", id="expired"),
        pytest.param(410, status(410, "Gone"), e.Gone, "Gone", "m", id="gone"),
        pytest.param(400, status(400, "BadRequest"), e.BadRequest, "BadRequest", "m", id="bad"),
        pytest.param(403, status(403, "Forbidden"), e.Forbidden, "Forbidden", "m", id="forbidden"),
        pytest.param(500, status(500, "InternalError"), e.InternalError, "InternalError", "m",
                     id="internal"),
        pytest.param(504, status(504, "Timeout"), e.Timeout, "Timeout", "m", id="timeout"),
        pytest.param(429, status(429, "TooManyRequests"), e.StatusError, "TooManyRequests", "m",
                     id="unknown-reason-keeps-it"),
        pytest.param(404, status(404, "Odd"), e.NotFound, "Odd", "m",
                     id="unknown-reason-known-code"),
        pytest.param(404, b"", e.NotFound, "NotFound",
                     "the server could not find the requested resource", id="empty-body"),
        pytest.param(503, b"<html>upstream down</html>", e.ServiceUnavailable,
                     "ServiceUnavailable", "<html>upstream down</html>", id="not-a-status"),
        pytest.param(418, b"", e.StatusError, "",
                     "the server responded with the status code 418", id="unknown-code"),
        pytest.param(401, b"", e.StatusError, "Unauthorized",
                     "the server has asked for the client to provide credentials",
                     id="unauthorized"),
    ],
)  # fmt: skip
def test_status_answers_become_status_errors(
    code: int, body: bytes, cls: type[e.StatusError], reason: str, message: str
) -> None:
    err = status_error(code, body)
    assert type(err) is cls
    assert (err.code, err.reason, err.message) == (code, reason, message)


def test_the_status_code_wins_over_the_http_code_and_details_survive() -> None:
    body = status(409, "Conflict", "x", name="web", kind="services", retryAfterSeconds=1)
    err = status_error(500, body)
    assert isinstance(err, e.Conflict)
    assert err.code == 409
    assert err.details == {"name": "web", "kind": "services", "retryAfterSeconds": 1}


SERVER_ERRORS = [
    e.NotFound("services", "web"),
    e.NotFound("ingresses", "web", "networking.k8s.io"),
    e.AlreadyExists("pods", "p"),
    e.Conflict("services", "web", e.OPTIMISTIC_LOCK_MESSAGE),
    e.Invalid("Service", "web", [e.required("spec.ports", ""), e.invalid("spec.type", "X", "no")]),
    e.BadRequest("bad"),
    e.Forbidden("namespaces", "kube-system", "protected"),
    e.Expired("too old resource version: 3 (7)"),
    e.Gone("watch ended"),
    e.MethodNotAllowed(),
    e.UnsupportedMediaType(["application/json"]),
    e.InternalError("boom"),
    e.NotFoundPath(),
]


@pytest.mark.parametrize("server_err", SERVER_ERRORS, ids=lambda x: type(x).__name__)
def test_every_server_error_round_trips_to_its_class_and_status(
    server_err: e.StatusError,
) -> None:
    err = status_error(server_err.code, dumps(server_err.to_status()))
    expected_cls = e.NotFound if isinstance(server_err, e.NotFoundPath) else type(server_err)
    assert type(err) is expected_cls
    assert err.to_status() == server_err.to_status()
    assert str(err) == server_err.message


def test_client_errors_are_not_status_errors() -> None:
    assert not issubclass(ApiUnavailable, e.StatusError)
    assert issubclass(ApiUnavailable, ClientError)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(b'{"type":"ADDED","object":{"a":1}}', ("ADDED", {"a": 1}), id="added"),
        pytest.param(b'{"type":"MODIFIED","object":{}}', ("MODIFIED", {}), id="modified"),
        pytest.param(b'{"type":"DELETED","object":{}}', ("DELETED", {}), id="deleted"),
        pytest.param(
            b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}',
            ("BOOKMARK", {"metadata": {"resourceVersion": "9"}}),
            id="bookmark",
        ),
    ],
)
def test_watch_lines_decode(line: bytes, expected: tuple[str, dict[str, Any]]) -> None:
    assert decode_event(line) == expected


@pytest.mark.parametrize(
    ("line", "exc", "match"),
    [
        pytest.param(
            b'{"type":"ERROR","object":' + status(410, "Expired", "too old").rstrip() + b"}",
            e.Expired,
            "too old",
            id="error-event-raises-its-status",
        ),
        pytest.param(b"{not json", ResponseError, "not JSON", id="bad-json"),
        pytest.param(b'{"type":"ADDED"}', ResponseError, "no object", id="no-object"),
        pytest.param(b'{"type":"WAT","object":{}}', ResponseError, "unknown", id="unknown-type"),
    ],
)
def test_bad_and_error_watch_lines_raise(line: bytes, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        decode_event(line)


@pytest.mark.parametrize(
    "raised",
    [
        pytest.param(aiohttp.ServerDisconnectedError(), id="disconnected"),
        pytest.param(aiohttp.ClientPayloadError("cut"), id="payload-cut"),
        pytest.param(aiohttp.ServerTimeoutError(), id="server-timeout"),
        pytest.param(ConnectionRefusedError(111, "refused"), id="refused"),
        pytest.param(TimeoutError(), id="timeout"),
    ],
)
def test_transport_errors_become_api_unavailable(raised: Exception) -> None:
    with (
        pytest.raises(ApiUnavailable, match="GET http://x") as info,
        map_transport_errors("GET", "http://x"),
    ):
        raise raised
    assert info.value.__cause__ is raised


def test_certificate_errors_are_tls_errors() -> None:
    raised = ssl.SSLCertVerificationError("unable to get local issuer certificate")
    with (
        pytest.raises(TLSError, match="SSLCertVerificationError"),
        map_transport_errors("GET", "u"),
    ):
        raise raised


def test_other_errors_pass_through_untranslated() -> None:
    with pytest.raises(ValueError, match="mine"), map_transport_errors("GET", "u"):
        raise ValueError("mine")
