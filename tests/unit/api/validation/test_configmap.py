"""ConfigMap validation: keys, size and immutability, with upstream's paths and messages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubesvc.api.validation.configmap import (
    is_config_map_key,
    validate_config_map,
    validate_config_map_update,
)

KEY_RULE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


@pytest.mark.parametrize(
    ("key", "messages"),
    [
        pytest.param("key.name", [], id="dotted"),
        pytest.param("KEY_NAME-1", [], id="upper-underscore-dash"),
        pytest.param("bad key", [KEY_RULE], id="space"),
        pytest.param("a/b", [KEY_RULE], id="slash"),
        pytest.param(".", ["must not be '.'"], id="dot"),
        pytest.param("..", ["must not be '..'"], id="dot-dot"),
        pytest.param("..x", ["must not start with '..'"], id="dot-dot-prefix"),
        pytest.param("k" * 254, ["must be no more than 253 characters"], id="too-long"),
        pytest.param("", [KEY_RULE], id="empty"),
    ],
)
def test_is_config_map_key(key: str, messages: list[str]) -> None:
    assert is_config_map_key(key) == messages


def _errors(obj: dict[str, Any]) -> list[str]:
    return [e.error() for e in validate_config_map(obj)]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({"data": {"a": "1"}, "binaryData": {"b": "AA=="}}, [], id="valid"),
        pytest.param({}, [], id="empty"),
        pytest.param(
            {"data": {"z z": "1", "a a": "2"}},
            [
                f'data[a a]: Invalid value: "a a": {KEY_RULE}',
                f'data[z z]: Invalid value: "z z": {KEY_RULE}',
            ],
            id="bad-keys-sorted",
        ),
        pytest.param(
            {"binaryData": {"b/x": "AA=="}},
            [f'binaryData[b/x]: Invalid value: "b/x": {KEY_RULE}'],
            id="bad-binary-key",
        ),
        pytest.param(
            {"data": {"k": "1"}, "binaryData": {"k": "AA=="}},
            ['data[k]: Invalid value: "k": duplicate of key present in binaryData'],
            id="key-in-both",
        ),
        pytest.param(
            {"data": {"k": "x" * (1024 * 1024 + 1)}},
            ["[]: Too long: may not be more than 1048576 bytes"],
            id="data-too-big",
        ),
        pytest.param({"data": {"k": "x" * (1024 * 1024)}}, [], id="exactly-the-limit"),
        pytest.param(
            {
                "data": {"k": "x" * (512 * 1024)},
                "binaryData": {"b": base64.b64encode(b"y" * (512 * 1024 + 1)).decode()},
            },
            ["[]: Too long: may not be more than 1048576 bytes"],
            id="both-maps-count-decoded",
        ),
    ],
)
def test_validate_config_map(obj: dict[str, Any], expected: list[str]) -> None:
    assert _errors(obj) == expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param({"data": {"a": "1"}}, {"data": {"a": "2"}}, [], id="mutable"),
        pytest.param(
            {"immutable": True, "data": {"a": "1"}},
            {"immutable": True, "data": {"a": "1"}},
            [],
            id="immutable-unchanged",
        ),
        pytest.param(
            {"immutable": True, "data": {"a": "1"}},
            {"immutable": True, "data": {"a": "2"}},
            ["data: Forbidden: field is immutable when `immutable` is set"],
            id="immutable-data-changed",
        ),
        pytest.param(
            {"immutable": True, "data": {"a": "1"}},
            {"data": {"a": "1"}},
            ["immutable: Forbidden: field is immutable when `immutable` is set"],
            id="immutable-unset",
        ),
    ],
)
def test_validate_config_map_update(
    old: dict[str, Any], new: dict[str, Any], expected: list[str]
) -> None:
    assert [e.error() for e in validate_config_map_update(new, old)] == expected
