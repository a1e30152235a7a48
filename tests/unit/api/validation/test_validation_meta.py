"""ObjectMeta validation on create and update: paths and messages as kube-apiserver's."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.api.validation.meta import (
    is_dns1035_label,
    is_dns1123_label,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.names import is_dns1123_subdomain

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
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

OK = {"name": "web", "namespace": "default"}


@pytest.mark.parametrize(
    ("meta", "namespaced", "validator", "expected"),
    [
        pytest.param(OK, True, is_dns1123_subdomain, [], id="valid"),
        pytest.param(
            {"namespace": "default"},
            True,
            is_dns1123_subdomain,
            ["metadata.name: Required value: name or generateName is required"],
            id="no-name",
        ),
        pytest.param(
            {"name": "Bad_Name", "namespace": "default"},
            True,
            is_dns1123_subdomain,
            [f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN}'],
            id="bad-subdomain-name",
        ),
        pytest.param(
            {"name": "my.svc", "namespace": "default"},
            True,
            is_dns1035_label,
            [f'metadata.name: Invalid value: "my.svc": {DNS1035}'],
            id="service-name-is-dns1035",
        ),
        pytest.param(
            {"name": "team.a"},
            False,
            is_dns1123_label,
            ['metadata.name: Invalid value: "team.a": must not contain dots'],
            id="namespace-name-is-label",
        ),
        pytest.param(
            {"generateName": "web-", "name": "web-x7k2q", "namespace": "default"},
            True,
            is_dns1123_subdomain,
            [],
            id="generate-name-trailing-dash",
        ),
        pytest.param(
            {"generateName": "Web-", "name": "web-x7k2q", "namespace": "default"},
            True,
            is_dns1123_subdomain,
            [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN}'],
            id="bad-generate-name",
        ),
        pytest.param(
            {"name": "web"},
            True,
            is_dns1123_subdomain,
            ["metadata.namespace: Required value"],
            id="namespace-required",
        ),
        pytest.param(
            {"name": "web", "namespace": "Prod"},
            True,
            is_dns1123_subdomain,
            [
                'metadata.namespace: Invalid value: "Prod": a lowercase RFC 1123 label must '
                "consist of lower case alphanumeric characters or '-', and must start and end "
                "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
            id="bad-namespace",
        ),
        pytest.param(
            {"name": "node-1", "namespace": "default"},
            False,
            is_dns1123_subdomain,
            ["metadata.namespace: Forbidden: not allowed on this type"],
            id="namespace-forbidden-on-cluster-scope",
        ),
        pytest.param(
            {**OK, "generation": -1},
            True,
            is_dns1123_subdomain,
            ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
            id="negative-generation",
        ),
        pytest.param(
            {**OK, "labels": {"app:x": "web", "tier": "front end"}},
            True,
            is_dns1123_subdomain,
            [
                f'metadata.labels: Invalid value: "app:x": name part {QNAME}',
                f'metadata.labels: Invalid value: "front end": {VALUE}',
            ],
            id="labels",
        ),
        pytest.param(
            {**OK, "labels": {"k": "v" * 64}},
            True,
            is_dns1123_subdomain,
            [f'metadata.labels: Invalid value: "{"v" * 64}": must be no more than 63 characters'],
            id="label-value-too-long",
        ),
        pytest.param(
            {**OK, "annotations": {"Example.COM/Note": "ok", "bad key!": "x"}},
            True,
            is_dns1123_subdomain,
            [f'metadata.annotations: Invalid value: "bad key!": name part {QNAME}'],
            id="annotation-keys-case-insensitive",
        ),
        pytest.param(
            {**OK, "annotations": {"big": "x" * (256 * 1024)}},
            True,
            is_dns1123_subdomain,
            ["metadata.annotations: Too long: may not be more than 262144 bytes"],
            id="annotations-too-large",
        ),
        pytest.param(
            {**OK, "annotations": {"big": "x" * (256 * 1024 - 3)}},
            True,
            is_dns1123_subdomain,
            [],
            id="annotations-at-limit",
        ),
        pytest.param(
            {**OK, "finalizers": ["example.com/cleanup", "kubernetes", "orphan"]},
            True,
            is_dns1123_subdomain,
            [],
            id="finalizers-ok",
        ),
        pytest.param(
            {**OK, "finalizers": ["cleanup"]},
            True,
            is_dns1123_subdomain,
            [
                'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard '
                "finalizer name nor is it fully qualified"
            ],
            id="unqualified-finalizer",
        ),
        pytest.param(
            {**OK, "finalizers": ["example.com/bad name"]},
            True,
            is_dns1123_subdomain,
            [f'metadata.finalizers: Invalid value: "example.com/bad name": name part {QNAME}'],
            id="bad-finalizer",
        ),
        pytest.param(
            {**OK, "finalizers": ["orphan", "foregroundDeletion"]},
            True,
            is_dns1123_subdomain,
            [
                'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
                "finalizer orphan and foregroundDeletion cannot be both set"
            ],
            id="orphan-and-foreground",
        ),
        pytest.param(
            {**OK, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet"}]},
            True,
            is_dns1123_subdomain,
            [
                'metadata.ownerReferences.name: Invalid value: "": name must not be empty',
                'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
            ],
            id="owner-reference-basics",
        ),
        pytest.param(
            {**OK, "ownerReferences": [{"apiVersion": "apps/", "name": "x", "uid": "u"}]},
            True,
            is_dns1123_subdomain,
            [
                'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not '
                "be empty",
                'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty',
            ],
            id="owner-reference-version-and-kind",
        ),
        pytest.param(
            {
                **OK,
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "RC", "name": "a", "uid": "1", "controller": True},
                    {"apiVersion": "v1", "kind": "RC", "name": "b", "uid": "2", "controller": True},
                ],
            },
            True,
            is_dns1123_subdomain,
            [
                "metadata.ownerReferences: Invalid value: "
                '[{"apiVersion":"v1","kind":"RC","name":"a","uid":"1","controller":true},'
                '{"apiVersion":"v1","kind":"RC","name":"b","uid":"2","controller":true}]: '
                'Only one reference can have Controller set to true. Found "true" in references '
                "for RC/a and RC/b"
            ],
            id="two-controllers",
        ),
    ],
)
def test_validate_object_meta(
    meta: dict[str, Any], namespaced: bool, validator: Any, expected: list[str]
) -> None:
    errs = validate_object_meta(meta, namespaced=namespaced, name_validator=validator)
    assert [e.error() for e in errs] == expected


def test_event_may_not_own() -> None:
    ref = {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}
    errs = validate_object_meta({**OK, "ownerReferences": [ref]}, namespaced=True)
    assert [e.detail for e in errs] == ["/v1, Kind=Event is disallowed from being an owner"]
    assert errs[0].field == "metadata.ownerReferences"


def test_kube_finalizer_check_can_be_left_out() -> None:
    meta = {**OK, "finalizers": ["cleanup"]}
    assert validate_object_meta(meta, namespaced=True, kube_finalizers=False) == []


def test_errors_carry_reasons_for_status_causes() -> None:
    errs = validate_object_meta({"name": "Bad_Name"}, namespaced=False, path="metadata")
    assert [(e.reason, e.field) for e in errs] == [("FieldValueInvalid", "metadata.name")]


OLD = {
    "name": "web",
    "namespace": "default",
    "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "resourceVersion": "10",
    "creationTimestamp": "2024-05-01T10:00:00Z",
    "generation": 3,
}


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        pytest.param(OLD, OLD, [], id="unchanged"),
        pytest.param(
            {**OLD, "labels": {"app": "web"}, "finalizers": ["example.com/x"]},
            OLD,
            [],
            id="labels-and-finalizers-may-change",
        ),
        pytest.param(
            {**OLD, "name": "web2"},
            OLD,
            ['metadata.name: Invalid value: "web2": field is immutable'],
            id="name",
        ),
        pytest.param(
            {**OLD, "namespace": "prod"},
            OLD,
            ['metadata.namespace: Invalid value: "prod": field is immutable'],
            id="namespace",
        ),
        pytest.param(
            {**OLD, "uid": "other"},
            OLD,
            ['metadata.uid: Invalid value: "other": field is immutable'],
            id="uid",
        ),
        pytest.param(
            {**OLD, "creationTimestamp": "2024-05-02T10:00:00Z"},
            OLD,
            [
                "metadata.creationTimestamp: Invalid value: 2024-05-02 10:00:00 +0000 UTC: "
                "field is immutable"
            ],
            id="creation-timestamp",
        ),
        pytest.param(
            {**OLD, "creationTimestamp": "2024-05-01T12:00:00+02:00"},
            OLD,
            [],
            id="same-instant-other-zone",
        ),
        pytest.param(
            {**OLD, "deletionTimestamp": "2024-05-03T00:00:00Z"},
            OLD,
            [
                "metadata.deletionTimestamp: Invalid value: 2024-05-03 00:00:00 +0000 UTC: "
                "field is immutable"
            ],
            id="deletion-timestamp-set",
        ),
        pytest.param(
            OLD,
            {**OLD, "deletionTimestamp": "2024-05-03T00:00:00Z"},
            ["metadata.deletionTimestamp: Invalid value: null: field is immutable"],
            id="deletion-timestamp-cleared",
        ),
        pytest.param(
            {**OLD, "deletionGracePeriodSeconds": 30},
            OLD,
            ["metadata.deletionGracePeriodSeconds: Invalid value: 30: field is immutable"],
            id="grace-period",
        ),
        pytest.param(
            {**OLD, "generation": 2},
            OLD,
            ["metadata.generation: Invalid value: 2: must not be decremented"],
            id="generation-decremented",
        ),
        pytest.param(
            {
                **OLD,
                "deletionTimestamp": "2024-05-03T00:00:00Z",
                "finalizers": ["a.io/x", "b.io/y"],
            },
            {**OLD, "deletionTimestamp": "2024-05-03T00:00:00Z", "finalizers": ["a.io/x"]},
            [
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is "
                'being deleted, found new finalizers []string{"b.io/y"}'
            ],
            id="no-new-finalizers-while-deleting",
        ),
        pytest.param(
            {**OLD, "deletionTimestamp": "2024-05-03T00:00:00Z", "finalizers": []},
            {**OLD, "deletionTimestamp": "2024-05-03T00:00:00Z", "finalizers": ["a.io/x"]},
            [],
            id="finalizers-may-go-while-deleting",
        ),
        pytest.param(
            {**OLD, "labels": {"bad key": "x"}, "finalizers": ["cleanup"]},
            OLD,
            [
                f'metadata.labels: Invalid value: "bad key": name part {QNAME}',
                'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard '
                "finalizer name nor is it fully qualified",
            ],
            id="new-labels-and-finalizers-validated",
        ),
    ],
)
def test_validate_object_meta_update(
    new: dict[str, Any], old: dict[str, Any], expected: list[str]
) -> None:
    assert [e.error() for e in validate_object_meta_update(new, old)] == expected
