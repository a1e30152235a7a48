"""Go's ``encoding/json`` syntax errors and the apiserver's undecodable-body message."""

from __future__ import annotations

import json

import pytest

from kubesvc.api.gojson import quote_char, summarize, syntax_error, unrecognized_message

SYNTAX = [
    pytest.param(b"", "unexpected end of JSON input", id="empty"),
    pytest.param(b"   ", "unexpected end of JSON input", id="only-space"),
    pytest.param(b'{"a":1', "unexpected end of JSON input", id="truncated-object"),
    pytest.param(b'{"a":"x', "unexpected end of JSON input", id="truncated-string"),
    pytest.param(b"[1,", "unexpected end of JSON input", id="truncated-array"),
    pytest.param(
        b'{"a":1,}',
        "invalid character '}' looking for beginning of object key string",
        id="trailing-comma-object",
    ),
    pytest.param(
        b"[1,]", "invalid character ']' looking for beginning of value", id="trailing-comma-list"
    ),
    pytest.param(b'{"a" 1}', "invalid character '1' after object key", id="missing-colon"),
    pytest.param(
        b'{"a":1 "b":2}',
        "invalid character '\"' after object key:value pair",
        id="missing-comma-object",
    ),
    pytest.param(b"[1 2]", "invalid character '2' after array element", id="missing-comma-list"),
    pytest.param(b"{} x", "invalid character 'x' after top-level value", id="after-top-level"),
    pytest.param(
        b'{"a":tru}',
        "invalid character '}' in literal true (expecting 'e')",
        id="literal-true",
    ),
    pytest.param(
        b'{"a":nul}', "invalid character '}' in literal null (expecting 'l')", id="literal-null"
    ),
    pytest.param(
        b'{"a":fx}', "invalid character 'x' in literal false (expecting 'a')", id="literal-false"
    ),
    pytest.param(
        b"{'a':1}",
        "invalid character '\\'' looking for beginning of object key string",
        id="single-quotes",
    ),
    pytest.param(
        b'{"a":01}', "invalid character '1' after object key:value pair", id="leading-zero"
    ),
    pytest.param(
        b'{"a":1.}',
        "invalid character '}' after decimal point in numeric literal",
        id="bare-decimal-point",
    ),
    pytest.param(
        b'{"a":1e}', "invalid character '}' in exponent of numeric literal", id="bare-exponent"
    ),
    pytest.param(b'{"a":-}', "invalid character '}' in numeric literal", id="bare-minus"),
    pytest.param(b'{"a":"\\x"}', "invalid character 'x' in string escape code", id="bad-escape"),
    pytest.param(
        b'{"a":"\\u12g4"}',
        "invalid character 'g' in \\u hexadecimal character escape",
        id="bad-unicode-escape",
    ),
    pytest.param(
        b'{"a":"x\ny"}', "invalid character '\\n' in string literal", id="control-in-string"
    ),
    pytest.param(
        b"apiVersion: v1\nkind: ConfigMap\n",
        "invalid character 'a' looking for beginning of value",
        id="yaml-sent-as-json",
    ),
    pytest.param(
        b'{"a":}', "invalid character '}' looking for beginning of value", id="missing-value"
    ),
]


@pytest.mark.parametrize(("data", "message"), SYNTAX)
def test_syntax_error(data: bytes, message: str) -> None:
    assert syntax_error(data) == message


VALID = [
    pytest.param(b'{"a":[1,-2.5e-3,0,true,false,null,"x\\u00e9\\n"],"b":{}}', id="object"),
    pytest.param(b' \n{ "a" : [ ] }\r\n', id="whitespace"),
    pytest.param(b"1", id="top-level-number"),
    pytest.param(b'"s"', id="top-level-string"),
    pytest.param(b"[]", id="empty-list"),
]


@pytest.mark.parametrize("data", VALID)
def test_valid_json_has_no_error(data: bytes) -> None:
    json.loads(data)  # the cases really are valid
    assert syntax_error(data) is None


@pytest.mark.parametrize(
    ("c", "quoted"),
    [
        pytest.param("'", "'\\''", id="single-quote"),
        pytest.param('"', "'\"'", id="double-quote"),
        pytest.param("\t", "'\\t'", id="tab"),
        pytest.param("\x01", "'\\x01'", id="control"),
        pytest.param("x", "'x'", id="plain"),
    ],
)
def test_quote_char(c: str, quoted: str) -> None:
    assert quote_char(ord(c)) == quoted


@pytest.mark.parametrize(
    ("data", "summary"),
    [
        pytest.param(b"", "<empty>", id="empty"),
        pytest.param(b'{"a":1}', '{"a":1}', id="short-object"),
        pytest.param(
            b'{"apiVersion":"v1","kind":"ConfigMap"}',
            '{"apiVersion":"v1","kind":"Con ...',
            id="long-object",
        ),
        pytest.param(b"[1,2]", "5b312c325d", id="not-an-object-in-hex"),
        pytest.param(b"x" * 31, "78" * 30 + " ...", id="long-hex"),
    ],
)
def test_summarize(data: bytes, summary: str) -> None:
    assert summarize(data) == summary


def test_unrecognized_message() -> None:
    body = b'{"apiVersion":"v1","kind":"ConfigMap","data":{'
    assert unrecognized_message(
        "ConfigMap", "couldn't get version/kind; json parse error: x", body
    ) == (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        'version/kind; json parse error: x ({"apiVersion":"v1","kind":"Con ...)'
    )
