"""Strict decoding: unknown and duplicate fields, Go type errors, pruning, and the messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubesvc.api import fields

SVC = "io.k8s.api.core.v1.Service"
EP = "io.k8s.api.core.v1.Endpoints"
POD = "io.k8s.api.core.v1.Pod"
DEPLOY = "io.k8s.api.apps.v1.Deployment"
SECRET = "io.k8s.api.core.v1.Secret"
LEASE = "io.k8s.api.coordination.v1.Lease"
NODE = "io.k8s.api.core.v1.Node"
SLICE = "io.k8s.api.discovery.v1.EndpointSlice"


def svc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


@pytest.mark.parametrize(
    ("obj", "definition", "unknown"),
    [
        pytest.param(svc(ports=[{"port": 80}], selector={"app": "web"}), SVC, (), id="valid"),
        pytest.param(svc(foo=1), SVC, ("spec.foo",), id="unknown-in-spec"),
        pytest.param(
            svc(ports=[{"port": 80}, {"port": 81, "nodeport": 30080}]),
            SVC,
            ("spec.ports[1].nodeport",),
            id="seed-nodeport-lowercase",
        ),
        pytest.param(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": "ext"},
                "subsets": [{"address": [{"IP": "1.2.3.4"}], "ports": [{"port": 80}]}],
            },
            EP,
            ("subsets[0].address",),
            id="seed-endpoints-address-singular",
        ),
        pytest.param(
            {"subsets": [{"addresses": [{"IP": "1.2.3.4"}, {"ip": "1.2.3.5"}]}]},
            EP,
            ("subsets[0].addresses[0].IP",),
            id="seed-endpoints-ip-capitalised",
        ),
        pytest.param(
            {"spec": {"containers": [{"name": "c", "image": "nginx", "port": 80}]}},
            POD,
            ("spec.containers[0].port",),
            id="seed-container-port-singular",
        ),
        pytest.param(
            {"metadata": {"name": "x", "labels": {"any": "key", "goes": "here"}, "unknownMeta": 1}},
            POD,
            ("metadata.unknownMeta",),
            id="labels-are-a-map-but-metadata-is-not",
        ),
        pytest.param(
            {"spec": {"foo": {"bar": {"baz": 1}}}},
            SVC,
            ("spec.foo",),
            id="unknown-value-is-not-read",
        ),
        pytest.param(
            {"Kind": "Service", "spec": {"Ports": []}},
            SVC,
            ("Kind", "spec.Ports"),
            id="case-sensitive",
        ),
        pytest.param(
            {
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"x": 1}]}]}
                    }
                }
            },
            DEPLOY,
            ("spec.template.spec.containers[1].ports[0].x",),
            id="deep-path",
        ),
        pytest.param(
            {"metadata": {"managedFields": [{"fieldsV1": {"f:spec": {"f:anything": {}}}}]}},
            SVC,
            (),
            id="fieldsV1-is-free-form",
        ),
        pytest.param(
            {"spec": {"ports": None, "selector": None, "clusterIP": None}, "status": None},
            SVC,
            (),
            id="nulls-are-fine",
        ),
    ],
)
def test_unknown_fields(obj: dict[str, Any], definition: str, unknown: tuple[str, ...]) -> None:
    report = fields.check_fields(obj, definition)
    assert report.unknown == unknown
    assert report.strict_errors == tuple(f'unknown field "{p}"' for p in unknown)
    assert report.decode_error == ""


@pytest.mark.parametrize(
    ("obj", "definition", "error"),
    [
        pytest.param(
            svc(ports=[{"port": "80"}]),
            SVC,
            "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port "
            "of type int32",
            id="string-for-int32",
        ),
        pytest.param(
            svc(ports=[{"port": 80.0}]),
            SVC,
            "json: cannot unmarshal number 80.0 into Go struct field ServicePort.spec.ports.port "
            "of type int32",
            id="float-for-int32",
        ),
        pytest.param(
            svc(ports=[{"port": 4294967296}]),
            SVC,
            "json: cannot unmarshal number 4294967296 into Go struct field "
            "ServicePort.spec.ports.port of type int32",
            id="int32-overflow",
        ),
        pytest.param(
            {"metadata": {"generation": "1"}},
            SVC,
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation "
            "of type int64",
            id="string-for-int64",
        ),
        pytest.param(
            svc(ports={"port": 80}),
            SVC,
            "json: cannot unmarshal object into Go struct field ServiceSpec.spec.ports "
            "of type []v1.ServicePort",
            id="object-for-list",
        ),
        pytest.param(
            {"spec": "x"},
            SVC,
            "json: cannot unmarshal string into Go struct field Service.spec "
            "of type v1.ServiceSpec",
            id="string-for-struct",
        ),
        pytest.param(
            svc(selector=["app"]),
            SVC,
            "json: cannot unmarshal array into Go struct field ServiceSpec.spec.selector "
            "of type map[string]string",
            id="array-for-map",
        ),
        pytest.param(
            {"metadata": {"labels": {"app": 1}}},
            SVC,
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels "
            "of type string",
            id="number-for-map-value",
        ),
        pytest.param(
            svc(publishNotReadyAddresses="true"),
            SVC,
            "json: cannot unmarshal string into Go struct field "
            "ServiceSpec.spec.publishNotReadyAddresses of type bool",
            id="string-for-bool",
        ),
        pytest.param(
            svc(ports=[{"port": 80, "targetPort": True}]),
            SVC,
            "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort "
            "of type int32",
            id="bool-for-int-or-string",
        ),
        pytest.param(
            {"spec": {"containers": [{"resources": {"limits": {"cpu": "lots"}}}]}},
            POD,
            fields.QUANTITY_FORMAT_ERROR,
            id="bad-quantity",
        ),
        pytest.param(
            {"spec": {"containers": [{"resources": {"limits": {"memory": "1Mm"}}}]}},
            POD,
            "unable to parse quantity's suffix",
            id="bad-quantity-suffix",
        ),
        pytest.param(
            {"metadata": {"creationTimestamp": 5}},
            SVC,
            "json: cannot unmarshal number into Go struct field "
            "ObjectMeta.metadata.creationTimestamp of type string",
            id="number-for-time",
        ),
        pytest.param(
            {"metadata": {"creationTimestamp": "yesterday"}},
            SVC,
            'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": '
            'cannot parse "yesterday" as "2006"',
            id="bad-time",
        ),
        pytest.param(
            {"data": {"k": "not base64!"}},
            SECRET,
            "illegal base64 data at input byte 3",
            id="bad-base64",
        ),
        pytest.param(
            [1, 2],
            SVC,
            "json: cannot unmarshal array into Go value of type v1.Service",
            id="array-root",
        ),
    ],
)
def test_decode_errors(obj: Any, definition: str, error: str) -> None:
    assert fields.check_fields(obj, definition).decode_error == error


@pytest.mark.parametrize(
    ("obj", "definition"),
    [
        pytest.param(svc(ports=[{"port": 80, "targetPort": "http"}]), SVC, id="named-target"),
        pytest.param(svc(ports=[{"port": 80, "targetPort": 8080}]), SVC, id="numeric-target"),
        pytest.param(
            {"spec": {"containers": [{"resources": {"limits": {"cpu": 1.5, "memory": "1Gi"}}}]}},
            POD,
            id="quantity-number-and-string",
        ),
        pytest.param({"status": {"capacity": {"pods": 110, "cpu": "4"}}}, NODE, id="capacity"),
        pytest.param(
            {"metadata": {"creationTimestamp": "2026-01-02T03:04:05+01:00"}}, SVC, id="rfc3339"
        ),
        pytest.param({"metadata": {"creationTimestamp": None}}, SVC, id="null-time"),
        pytest.param(
            {"spec": {"renewTime": "2026-01-02T03:04:05.123456Z", "leaseDurationSeconds": 40}},
            LEASE,
            id="micro-time",
        ),
        pytest.param({"data": {"k": "aGVsbG8="}}, SECRET, id="base64"),
        pytest.param(
            {"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": []},
            SLICE,
            id="endpointslice",
        ),
    ],
)
def test_accepted_values(obj: Any, definition: str) -> None:
    assert fields.check_fields(obj, definition).ok


def test_decode_error_wins_over_strict_errors_and_first_one_is_kept() -> None:
    report = fields.check_fields(svc(foo=1, ports=[{"port": "a"}, {"port": "b", "name": 3}]), SVC)
    assert "ServicePort.spec.ports.port of type int32" in report.decode_error
    assert report.fatal_message("Service", "v1") == (
        'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string '
        "into Go struct field ServicePort.spec.ports.port of type int32"
    )


def test_custom_decoder_error_wins_over_an_earlier_type_error() -> None:
    report = fields.check_fields(svc(ports=[{"port": "a"}, {"port": 1, "targetPort": 1.5}]), SVC)
    assert report.decode_error.startswith("json: cannot unmarshal number 1.5")


@pytest.mark.parametrize(
    ("text", "definition", "strict"),
    [
        pytest.param(
            # the body of the upstream conformance test "should detect unknown and duplicate
            # fields of a typed object"
            """{"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "my-dep", "labels": {"app": "nginx"}},
                "spec": {"unknownField": "foo", "replicas": 2, "replicas": 3,
                         "selector": {"matchLabels": {"app": "nginx"}},
                         "template": {"metadata": {"labels": {"app": "nginx"}},
                                      "spec": {"containers": [{"name": "nginx",
                                                               "image": "nginx:latest"}]}}}}""",
            DEPLOY,
            ('unknown field "spec.unknownField"', 'duplicate field "spec.replicas"'),
            id="conformance-unknown-then-duplicate",
        ),
        pytest.param(
            '{"metadata": {"name": "a", "name": "b", "labels": {"x": "1", "x": "2"}}}',
            SVC,
            ('duplicate field "metadata.name"', 'duplicate field "metadata.labels.x"'),
            id="struct-and-map-duplicates",
        ),
        pytest.param(
            '{"spec": {"foo": 1, "foo": 2}}',
            SVC,
            ('unknown field "spec.foo"',),
            id="repeated-unknown-is-reported-once",
        ),
        pytest.param(
            '{"spec": {"ports": [{"port": 1, "port": 2}, {"port": 3, "port": 4}]}}',
            SVC,
            ('duplicate field "spec.ports[0].port"', 'duplicate field "spec.ports[1].port"'),
            id="duplicates-in-list-items",
        ),
    ],
)
def test_decode_reports_in_document_order(
    text: str, definition: str, strict: tuple[str, ...]
) -> None:
    _, report = fields.decode(text, definition)
    assert report.strict_errors == strict
    assert report.decode_error == ""


def test_strict_message_shape() -> None:
    _, report = fields.decode('{"spec": {"foo": 1, "bar": 2}}', SVC)
    assert report.strict_message("Service", "v1") == (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.foo", unknown field "spec.bar"'
    )
    assert fields.check_fields(svc(), SVC).strict_message("Service", "v1") == ""


def test_repeated_struct_keys_merge_like_go() -> None:
    obj, _ = fields.decode(
        '{"spec": {"selector": {"a": "1"}, "type": "X", "type": "Y"}, '
        '"spec": {"clusterIP": "None"}}',
        SVC,
    )
    assert obj == {"spec": {"selector": {"a": "1"}, "type": "Y", "clusterIP": "None"}}


def test_strict_errors_are_capped() -> None:
    body = json.dumps({"spec": {f"f{i}": i for i in range(150)}})
    _, report = fields.decode(body, SVC)
    assert len(report.strict_errors) == fields.MAX_STRICT_ERRORS
    assert len(report.unknown) == 150


def test_prune_drops_unknown_fields_and_keeps_input() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "ext", "labels": {"k": "v"}},
        "subsets": [{"address": [{"ip": "1.2.3.4"}], "addresses": [{"IP": "x", "ip": "1.1.1.1"}]}],
    }
    before = json.dumps(obj, sort_keys=True)
    pruned = fields.prune_unknown_fields(obj, EP)
    assert pruned == {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "ext", "labels": {"k": "v"}},
        "subsets": [{"addresses": [{"ip": "1.1.1.1"}]}],
    }
    assert json.dumps(obj, sort_keys=True) == before


def test_decode_with_prune_returns_plain_json() -> None:
    obj, report = fields.decode('{"spec": {"ports": [{"port": 80, "x": 1.50}]}}', SVC, prune=True)
    assert obj == {"spec": {"ports": [{"port": 80}]}}
    assert type(obj["spec"]["ports"][0]["port"]) is int
    assert report.unknown == ("spec.ports[0].x",)


def test_float_literal_is_kept_for_messages() -> None:
    _, report = fields.decode('{"spec": {"ports": [{"port": 8.0e1}]}}', SVC)
    assert "number 8.0e1 into" in report.decode_error


@pytest.mark.parametrize(
    ("text", "obj", "duplicates"),
    [
        pytest.param('{"a": 1}', {"a": 1}, [], id="none"),
        pytest.param('{"a": 1, "a": 2}', {"a": 2}, ["a"], id="top-level"),
        pytest.param(
            '{"items": [{"metadata": {"name": "a", "name": "b"}}]}',
            {"items": [{"metadata": {"name": "b"}}]},
            ["items[0].metadata.name"],
            id="nested-in-list",
        ),
        pytest.param('{"x": 1.5}', {"x": 1.5}, [], id="floats-are-plain"),
    ],
)
def test_loads_checking_duplicates(text: str, obj: Any, duplicates: list[str]) -> None:
    parsed, found = fields.loads_checking_duplicates(text)
    assert parsed == obj
    assert found == duplicates
    assert json.dumps(parsed) == json.dumps(obj)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '{"a": NaN}', "invalid character 'N' looking for beginning of value", id="nan"
        ),
        pytest.param(
            '{"a": -Infinity}', "invalid character 'I' in numeric literal", id="minus-infinity"
        ),
    ],
)
def test_non_json_numbers_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fields.loads_checking_duplicates(text)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param("2026-01-02T03:04:05Z", "", id="utc"),
        pytest.param("2026-01-02T03:04:05.5-07:00", "", id="fraction-and-offset"),
        pytest.param(
            "2026-13-02T03:04:05Z",
            'parsing time "2026-13-02T03:04:05Z": month out of range',
            id="month",
        ),
        pytest.param(
            "2026-02-29T03:04:05Z",
            'parsing time "2026-02-29T03:04:05Z": day out of range',
            id="day",
        ),
        pytest.param("2028-02-29T03:04:05Z", "", id="leap-day"),
        pytest.param(
            "2026-01-02",
            'parsing time "2026-01-02" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"',
            id="date-only",
        ),
        pytest.param(
            "2026-01-02T03:04:05+0100",
            'parsing time "2026-01-02T03:04:05+0100" as "2006-01-02T15:04:05Z07:00": '
            'cannot parse "+0100" as "Z07:00"',
            id="offset-without-colon",
        ),
        pytest.param(
            "2026-01-02T03:04:05Zx",
            'parsing time "2026-01-02T03:04:05Zx": extra text: "x"',
            id="extra-text",
        ),
    ],
)
def test_time_error(value: str, error: str) -> None:
    assert fields.time_error(value) == error


def test_micro_time_needs_six_fraction_digits() -> None:
    assert fields.time_error("2026-01-02T03:04:05.000001Z", micro=True) == ""
    assert fields.time_error("2026-01-02T03:04:05Z", micro=True) == (
        'parsing time "2026-01-02T03:04:05Z" as "2006-01-02T15:04:05.000000Z07:00": '
        'cannot parse "Z" as ".000000"'
    )


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("100m", True, id="milli"),
        pytest.param("1Gi", True, id="binary"),
        pytest.param("1.5", True, id="fraction"),
        pytest.param("1e3", True, id="exponent"),
        pytest.param("+0.5E-2", True, id="signed-exponent"),
        pytest.param("1KiB", False, id="bytes-suffix"),
        pytest.param("1e", False, id="bare-e"),
        pytest.param("", False, id="empty"),
        pytest.param("one", False, id="word"),
    ],
)
def test_quantity_error(text: str, ok: bool) -> None:
    assert (fields.quantity_error(text) == "") is ok


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("aGVsbG8=", "", id="padded"),
        pytest.param("aGVs\nbG8=", "", id="newline-skipped"),
        pytest.param("aGVsbG8", "illegal base64 data at input byte 4", id="missing-padding"),
        pytest.param("aGVsbA=", "illegal base64 data at input byte 7", id="short-padding"),
        pytest.param("aGVsbA==x", "illegal base64 data at input byte 8", id="trailing-garbage"),
        pytest.param("a===", "illegal base64 data at input byte 1", id="early-padding"),
    ],
)
def test_base64_error(text: str, error: str) -> None:
    assert fields.base64_error(text) == error


def test_unknown_definition_is_an_error() -> None:
    with pytest.raises(ValueError, match="no schema definition"):
        fields.check_fields({}, "io.k8s.api.core.v1.Nope")
