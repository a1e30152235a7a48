"""``FieldError`` renders its message as Go's ``field.Error`` does (Kubernetes 1.32)."""

from __future__ import annotations

import pytest

from kubesvc.api.errors import (
    FieldError,
    duplicate,
    forbidden,
    go_float,
    go_quote,
    invalid,
    not_supported,
    required,
    too_long,
)


class Stringer:
    def __str__(self) -> str:
        return "2024-01-02 03:04:05 +0000 UTC"


@pytest.mark.parametrize(
    ("error", "rendered"),
    [
        pytest.param(
            invalid("metadata.name", "Bad_Name", "bad"),
            'metadata.name: Invalid value: "Bad_Name": bad',
            id="invalid-string",
        ),
        pytest.param(
            invalid("spec.ports[0].nodePort", 80801, "out of range"),
            "spec.ports[0].nodePort: Invalid value: 80801: out of range",
            id="invalid-int",
        ),
        pytest.param(invalid("x", True, "no"), "x: Invalid value: true: no", id="invalid-bool"),
        pytest.param(invalid("x", None, "no"), "x: Invalid value: null: no", id="invalid-nil"),
        pytest.param(invalid("x", 0.5, "no"), "x: Invalid value: 0.5: no", id="invalid-float"),
        pytest.param(
            invalid("x", ["a", "b"], "no"),
            'x: Invalid value: []string{"a", "b"}: no',
            id="invalid-string-slice",
        ),
        pytest.param(
            invalid("x", Stringer(), "field is immutable"),
            "x: Invalid value: 2024-01-02 03:04:05 +0000 UTC: field is immutable",
            id="invalid-stringer",
        ),
        pytest.param(required("metadata.name"), "metadata.name: Required value", id="required"),
        pytest.param(
            required("metadata.name", "name or generateName is required"),
            "metadata.name: Required value: name or generateName is required",
            id="required-detail",
        ),
        pytest.param(
            forbidden("metadata.namespace", "not allowed on this type"),
            "metadata.namespace: Forbidden: not allowed on this type",
            id="forbidden",
        ),
        pytest.param(
            too_long("metadata.annotations", "x" * 10, 262144),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
            id="too-long-hides-value",
        ),
        pytest.param(
            too_long("x", "", 1), "x: Too long: may not be more than 1 byte", id="too-long-1"
        ),
        pytest.param(
            FieldError("TooMany", "spec.x", 5, "must have at most 3 items"),
            "spec.x: Too many: 5: must have at most 3 items",
            id="too-many-shows-count",
        ),
        pytest.param(
            FieldError("TooMany", "spec.x", detail="must have at most 3 items"),
            "spec.x: Too many: must have at most 3 items",
            id="too-many-omitted",
        ),
        pytest.param(
            not_supported("spec.type", "Foo", ["ClusterIP", "NodePort"]),
            'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "NodePort"',
            id="not-supported",
        ),
        pytest.param(
            duplicate("spec.ports[1].name", "http"),
            'spec.ports[1].name: Duplicate value: "http"',
            id="duplicate",
        ),
        pytest.param(
            FieldError("Internal", "x", "ignored", "boom"),
            "x: Internal error: boom",
            id="internal",
        ),
    ],
)
def test_field_error_rendering(error: FieldError, rendered: str) -> None:
    assert error.error() == rendered


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        pytest.param("plain", '"plain"', id="plain"),
        pytest.param('say "hi"\\', '"say \\"hi\\"\\\\"', id="quotes-and-backslash"),
        pytest.param("a\nb\tc\x07", '"a\\nb\\tc\\a"', id="short-escapes"),
        pytest.param("\x01\x7f", '"\\x01\\x7f"', id="control"),
        pytest.param("café ☃", '"café ☃"', id="printable-unicode"),
        pytest.param("\u00ad\u2028", '"\\u00ad\\u2028"', id="non-printable-unicode"),
    ],
)
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(1.5, "1.5", id="simple"),
        pytest.param(3.0, "3", id="integral"),
        pytest.param(100000.0, "100000", id="below-exponent-form"),
        pytest.param(1e6, "1e+06", id="exponent-form"),
        pytest.param(1234567.0, "1.234567e+06", id="exponent-with-digits"),
        pytest.param(0.0001, "0.0001", id="small"),
        pytest.param(0.00001, "1e-05", id="smaller"),
        pytest.param(-2.25, "-2.25", id="negative"),
    ],
)
def test_go_float(value: float, shown: str) -> None:
    assert go_float(value) == shown
