"""The string formats of names, label keys and values, with upstream's messages."""

from __future__ import annotations

import pytest

from kubesvc.api.validation.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    mask_trailing_dash,
)

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        pytest.param("example.com", [], id="ok"),
        pytest.param("a", [], id="one-char"),
        pytest.param("Bad_Name", [SUBDOMAIN], id="upper-and-underscore"),
        pytest.param("-web", [SUBDOMAIN], id="leading-dash"),
        pytest.param("web.", [SUBDOMAIN], id="trailing-dot"),
        pytest.param("", [SUBDOMAIN], id="empty"),
        pytest.param("web\n", [SUBDOMAIN], id="trailing-newline-is-not-an-end"),
        pytest.param("a" * 253, [], id="max-length"),
        pytest.param(
            "a" * 254, ["must be no more than 253 characters"], id="too-long-but-well-formed"
        ),
    ],
)
def test_dns1123_subdomain(value: str, messages: list[str]) -> None:
    assert is_dns1123_subdomain(value) == messages


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        pytest.param("kube-system", [], id="ok"),
        pytest.param("0day", [], id="leading-digit"),
        pytest.param("a.b", ["must not contain dots"], id="dots"),
        pytest.param("Prod", [LABEL], id="upper"),
        pytest.param("a" * 64, ["must be no more than 63 characters"], id="too-long"),
    ],
)
def test_dns1123_label(value: str, messages: list[str]) -> None:
    assert is_dns1123_label(value) == messages


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        pytest.param("web", [], id="ok"),
        pytest.param("1web", [DNS1035], id="leading-digit"),
        pytest.param("web-", [DNS1035], id="trailing-dash"),
        pytest.param("my.svc", [DNS1035], id="dots"),
        pytest.param("a" * 64, ["must be no more than 63 characters"], id="too-long"),
    ],
)
def test_dns1035_label(value: str, messages: list[str]) -> None:
    assert is_dns1035_label(value) == messages


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        pytest.param("app", [], id="plain"),
        pytest.param("app.kubernetes.io/name", [], id="prefixed"),
        pytest.param("My_Key.1", [], id="mixed-case"),
        pytest.param("/app", ["prefix part must be non-empty"], id="empty-prefix"),
        pytest.param(
            "k8s.io/", ["name part must be non-empty", "name part " + QNAME], id="no-name"
        ),
        pytest.param("Bad.IO/app", ["prefix part " + SUBDOMAIN], id="bad-prefix"),
        pytest.param("app:x", ["name part " + QNAME], id="bad-char"),
        pytest.param(
            "a/b/c",
            [
                "a qualified name " + QNAME + " with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"
            ],
            id="two-slashes",
        ),
        pytest.param("a" * 64, ["name part must be no more than 63 characters"], id="too-long"),
    ],
)
def test_qualified_name(value: str, messages: list[str]) -> None:
    assert is_qualified_name(value) == messages


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        pytest.param("", [], id="empty-is-fine"),
        pytest.param("v1.2_3-x", [], id="ok"),
        pytest.param("-x", [VALUE], id="leading-dash"),
        pytest.param("a b", [VALUE], id="space"),
        pytest.param("é", [VALUE], id="non-ascii"),
        pytest.param("a" * 64, ["must be no more than 63 characters"], id="too-long"),
    ],
)
def test_label_value(value: str, messages: list[str]) -> None:
    assert is_valid_label_value(value) == messages


@pytest.mark.parametrize(
    ("prefix", "masked"),
    [
        pytest.param("web-", "wea", id="trailing-dash"),
        pytest.param("web", "web", id="no-dash"),
        pytest.param("-", "-", id="single-dash"),
    ],
)
def test_mask_trailing_dash(prefix: str, masked: str) -> None:
    assert mask_trailing_dash(prefix) == masked
