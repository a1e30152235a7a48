"""The empty ``/openapi/v2`` document kubectl's client-side validation downloads."""

from __future__ import annotations

import pytest

from kubesvc.apiserver import openapi_v2


def test_protobuf_encoding_is_a_gnostic_document() -> None:
    doc = openapi_v2.document("v1.32.5")
    assert openapi_v2.encode_protobuf(doc) == (
        b"\x0a\x032.0"  # 1: swagger
        + b"\x12\x15"  # 2: info (21 bytes)
        + b"\x0a\x0aKubernetes"  # info.1: title
        + b"\x12\x07v1.32.5"  # info.2: version
        + b"\x42\x00"  # 8: paths, empty
    )


def test_json_form() -> None:
    assert openapi_v2.document_bytes("v1.32.5", protobuf=False) == (
        b'{"swagger":"2.0","info":{"title":"Kubernetes","version":"v1.32.5"},"paths":{}}'
    )


@pytest.mark.parametrize(
    ("accept", "protobuf"),
    [
        pytest.param(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", True, id="kubectl"
        ),
        pytest.param(
            "application/json, application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.9",
            True,
            id="dotted-spelling",
        ),
        pytest.param("application/json", False, id="json"),
        pytest.param("", False, id="none"),
    ],
)
def test_wants_protobuf(accept: str, protobuf: bool) -> None:
    assert openapi_v2.wants_protobuf(accept) is protobuf


def test_answer_content_type_parses_as_a_media_type() -> None:
    # Go's mime.ParseMediaType rejects "@" in a subtype; the answer must not carry it.
    assert "@" not in openapi_v2.PROTOBUF_CONTENT_TYPE
