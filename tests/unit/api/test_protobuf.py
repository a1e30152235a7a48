"""Decoding of Kubernetes protobuf bodies (``kubesvc.api.protobuf``).

Bodies are built with the tiny encoder below, field by field, so each case shows
the wire layout it exercises; a few are bodies kubectl 1.32 really sent, whose
expected dicts equal what ``kubectl ... --dry-run=client -o json`` printed for
the same command (Go's JSON of the same object).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest

from kubesvc.api import protobuf, schema

# --------------------------------------------------------------------------------------------
# A tiny protobuf encoder.


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as Go writes them: ten bytes
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def vint(number: int, value: int) -> bytes:
    """A varint field."""
    return _varint(number << 3) + _varint(value)


def ld(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def entry(number: int, key: str, value: bytes) -> bytes:
    """One map entry: key = 1, and the value field (number 2) already encoded."""
    return ld(number, ld(1, key) + value)


def envelope(api_version: str, kind: str, raw: bytes, *extra: bytes) -> bytes:
    type_meta = ld(1, ld(1, api_version) + ld(2, kind))
    return protobuf.MAGIC + type_meta + ld(2, raw) + b"".join(extra)


def meta(name: str, *extra: bytes) -> bytes:
    """ObjectMeta (field 1 of every kind) with a name."""
    return ld(1, ld(1, name) + b"".join(extra))


def time_msg(number: int, moment: str) -> bytes:
    when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    seconds = int(when.timestamp())
    return ld(number, vint(1, seconds) + vint(2, when.microsecond * 1000))


# --------------------------------------------------------------------------------------------
# Bodies kubectl 1.32 sent (create namespace / secret generic / deployment / service / ingress).

KUBECTL_NAMESPACE = (
    b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04pnsy\x12\x00\x1a\x00"\x00*\x002'
    b'\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'
)
KUBECTL_SECRET = (
    b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12!\n\x15\n\x03ps2\x12\x00\x1a\x02t1"\x00*\x002\x00'
    b'8\x00B\x00\x12\x06\n\x01k\x12\x01v\x1a\x00\x1a\x00"\x00'
)
KUBECTL_DEPLOYMENT = (
    b'k8s\x00\n\x15\n\x07apps/v1\x12\nDeployment\x12\xb2\x01\n!\n\x03pd2\x12\x00\x1a\x02t1"\x00'
    b"*\x002\x008\x00B\x00Z\n\n\x03app\x12\x03pd2\x12\x7f\x08\x02\x12\x0c\n\n\n\x03app\x12\x03pd2"
    b"\x1ae\n\x1c\n\x00\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00Z\n\n\x03app\x12\x03pd2\x12E\x12'"
    b'\n\x01x\x12\x01x*\x002\x0b\n\x00\x10\x00\x18\x90?"\x00*\x00B\x00j\x00r\x00\x80\x01\x00\x88'
    b"\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x002\x00B\x00J\x00R\x00X\x00`\x00h\x00\x82\x01\x00\x8a"
    b'\x01\x00\x9a\x01\x00\xc2\x01\x00"\x02\n\x00(\x008\x00\x1a\x0c\x08\x00\x10\x00\x18\x00 \x00('
    b'\x008\x00\x1a\x00"\x00'
)
KUBECTL_SERVICE = (
    b'k8s\x00\n\r\n\x02v1\x12\x07Service\x12q\n%\n\x05psvc2\x12\x00\x1a\x02t1"\x00*\x002\x008\x00'
    b'B\x00Z\x0c\n\x03app\x12\x05psvc2\x12D\n\x1b\n\x0780-8080\x12\x03TCP\x18P"\x07\x08\x00\x10'
    b'\x90?\x1a\x00(\x00\x12\x0c\n\x03app\x12\x05psvc2\x1a\x00"\tClusterIP:\x00B\x00R\x00Z\x00`\x00'
    b'h\x00\x1a\x02\n\x00\x1a\x00"\x00'
)
KUBECTL_INGRESS = (
    b"k8s\x00\n\x1f\n\x14networking.k8s.io/v1\x12\x07Ingress\x12L\n\x17\n\x05ping2\x12\x00\x1a\x02"
    b't1"\x00*\x002\x008\x00B\x00\x12-\x1a+\n\x07foo.com\x12 \n\x1e\n\x1c\n\x04/bar\x12\r"\x0b\n'
    b'\x03svc\x12\x04\n\x00\x10P\x1a\x05Exact\x1a\x02\n\x00\x1a\x00"\x00'
)

_NO_TIME = {"creationTimestamp": None}

KUBECTL_CASES = [
    pytest.param(
        KUBECTL_NAMESPACE,
        {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {"name": "pnsy", **_NO_TIME},
            "spec": {},
            "status": {},
        },
        id="kubectl-create-namespace",
    ),
    pytest.param(
        KUBECTL_SECRET,
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "ps2", "namespace": "t1", **_NO_TIME},
            "data": {"k": "dg=="},
        },
        id="kubectl-create-secret-generic",
    ),
    pytest.param(
        KUBECTL_DEPLOYMENT,
        {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "pd2", "namespace": "t1", "labels": {"app": "pd2"}, **_NO_TIME},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "pd2"}},
                "template": {
                    "metadata": {"labels": {"app": "pd2"}, **_NO_TIME},
                    "spec": {
                        "containers": [
                            {
                                "name": "x",
                                "image": "x",
                                "ports": [{"containerPort": 8080}],
                                "resources": {},
                            }
                        ]
                    },
                },
                "strategy": {},
            },
            "status": {},
        },
        id="kubectl-create-deployment",
    ),
    pytest.param(
        KUBECTL_SERVICE,
        {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": "psvc2",
                "namespace": "t1",
                "labels": {"app": "psvc2"},
                **_NO_TIME,
            },
            "spec": {
                "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "selector": {"app": "psvc2"},
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        },
        id="kubectl-create-service-clusterip",
    ),
    pytest.param(
        KUBECTL_INGRESS,
        {
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "ping2", "namespace": "t1", **_NO_TIME},
            "spec": {
                "rules": [
                    {
                        "host": "foo.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/bar",
                                    "pathType": "Exact",
                                    "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
            "status": {"loadBalancer": {}},
        },
        id="kubectl-create-ingress",
    ),
]


@pytest.mark.parametrize(("body", "want"), KUBECTL_CASES)
def test_decodes_what_kubectl_sends(body: bytes, want: dict[str, Any]) -> None:
    assert protobuf.decode(body) == want


# --------------------------------------------------------------------------------------------
# Hand-built bodies for the tricky parts. Numbers: ConfigMap data=2 binaryData=3 immutable=4;
# Service spec=2, ServiceSpec ports=1, ServicePort port=3 targetPort=4; Pod spec=2, PodSpec
# containers=2 priority=25 securityContext=14, PodSecurityContext supplementalGroups=4.

_CM = "v1", "ConfigMap"
_C, _S, _P, _L = ({"metadata": {"name": n}} for n in "cspl")


def _configmap(*fields: bytes) -> bytes:
    return envelope(*_CM, meta("c") + b"".join(fields))


def _service_port(*fields: bytes) -> bytes:
    spec = ld(2, ld(1, b"".join(fields)))
    return envelope("v1", "Service", meta("s") + spec)


def _pod_spec(*fields: bytes) -> bytes:
    return envelope("v1", "Pod", meta("p") + ld(2, b"".join(fields)))


def _lease_spec(*fields: bytes) -> bytes:
    return envelope("coordination.k8s.io/v1", "Lease", meta("l") + ld(2, b"".join(fields)))


CASES = [
    pytest.param(
        _configmap(entry(2, "a", ld(2, "1")), entry(2, "b", ld(2, "")), entry(2, "c", b"")),
        {**_C, "data": {"a": "1", "b": "", "c": ""}},
        id="map-entries-including-empty-and-missing-values",
    ),
    pytest.param(
        _configmap(entry(2, "k", ld(2, "old")), entry(2, "k", ld(2, "new"))),
        {**_C, "data": {"k": "new"}},
        id="map-later-entry-wins",
    ),
    pytest.param(
        _configmap(entry(3, "bin", ld(2, b"\x00\xff\x10"))),
        {**_C, "binaryData": {"bin": "AP8Q"}},
        id="bytes-map-values-become-base64",
    ),
    pytest.param(
        _configmap(vint(4, 0)),
        {**_C, "immutable": False},
        id="pointer-bool-false-is-kept",
    ),
    pytest.param(
        _configmap(vint(99, 7), ld(98, b"junk"), b"\x85\x06\x01\x02\x03\x04"),
        _C,
        id="unknown-fields-are-skipped",
    ),
    pytest.param(
        _service_port(vint(3, 80), ld(4, vint(1, 0) + vint(2, 8080) + ld(3, ""))),
        {**_S, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}},
        id="int-or-string-int",
    ),
    pytest.param(
        _service_port(vint(3, 80), ld(4, vint(1, 1) + vint(2, 0) + ld(3, "http"))),
        {**_S, "spec": {"ports": [{"port": 80, "targetPort": "http"}]}},
        id="int-or-string-string",
    ),
    pytest.param(
        _service_port(vint(3, 0), ld(4, vint(1, 0) + vint(2, 0) + ld(3, "")), vint(5, 0)),
        {**_S, "spec": {"ports": [{"port": 0, "targetPort": 0}]}},
        id="zero-kept-without-omitempty-dropped-with-it",
    ),
    pytest.param(
        _pod_spec(vint(25, -5)),
        {**_P, "spec": {"priority": -5}},
        id="negative-int32-ten-byte-varint",
    ),
    pytest.param(
        _pod_spec(vint(25, 2**32 + 7)),
        {**_P, "spec": {"priority": 7}},
        id="int32-keeps-the-low-32-bits-as-go-does",
    ),
    pytest.param(
        _pod_spec(ld(14, vint(4, 1) + vint(4, -2) + ld(4, _varint(3000000000) + _varint(4)))),
        {**_P, "spec": {"securityContext": {"supplementalGroups": [1, -2, 3000000000, 4]}}},
        id="repeated-int64-unpacked-and-packed",
    ),
    pytest.param(
        _pod_spec(
            ld(2, ld(1, "a") + ld(6, vint(3, 80)) + ld(6, vint(3, 81) + ld(4, "UDP"))),
            ld(2, ld(1, "b") + ld(7, ld(1, "E") + ld(2, "v")) + ld(7, ld(1, "F"))),
        ),
        {
            **_P,
            "spec": {
                "containers": [
                    {
                        "name": "a",
                        "ports": [{"containerPort": 80}, {"containerPort": 81, "protocol": "UDP"}],
                    },
                    {"name": "b", "env": [{"name": "E", "value": "v"}, {"name": "F"}]},
                ]
            },
        },
        id="nested-repeated-messages",
    ),
    pytest.param(
        _pod_spec(ld(1, ld(1, "v") + ld(2, ld(2, b"")))),
        {**_P, "spec": {"volumes": [{"name": "v", "emptyDir": {}}]}},
        id="inline-embedded-struct-is-flattened",
    ),
    pytest.param(
        _pod_spec(ld(2, ld(1, "c") + ld(10, ld(1, ld(2, ld(2, vint(1, 1) + ld(3, "http"))))))),
        {
            **_P,
            "spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": "http"}}}]},
        },
        id="probe-handler-inline-with-named-port",
    ),
    pytest.param(
        _pod_spec(ld(2, ld(1, "c") + ld(8, entry(1, "cpu", ld(2, ld(1, "250m")))))),
        {**_P, "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "250m"}}}]}},
        id="quantity-map-values",
    ),
    pytest.param(
        _pod_spec(ld(2, ld(1, "c") + ld(8, entry(2, "cpu", ld(2, b""))))),
        {**_P, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "0"}}}]}},
        id="zero-quantity",
    ),
    pytest.param(
        envelope("apps/v1", "Deployment", meta("d") + ld(2, vint(1, 0) + vint(7, 0))),
        {"metadata": {"name": "d"}, "spec": {"replicas": 0}},
        id="pointer-int-zero-kept-plain-bool-false-dropped",
    ),
    pytest.param(
        envelope("v1", "ConfigMap", ld(1, ld(1, "n")) + ld(1, entry(11, "l", ld(2, "v")))),
        {"metadata": {"name": "n", "labels": {"l": "v"}}},
        id="repeated-message-field-merges",
    ),
    pytest.param(
        envelope("v1", "ConfigMap", ld(1, ld(1, "first")) + ld(1, ld(1, "second"))),
        {"metadata": {"name": "second"}},
        id="repeated-scalar-last-wins",
    ),
    pytest.param(
        _lease_spec(time_msg(3, "2024-01-02T03:04:05.123456Z"), vint(2, 15)),
        {**_L, "spec": {"acquireTime": "2024-01-02T03:04:05.123456Z", "leaseDurationSeconds": 15}},
        id="micro-time",
    ),
    pytest.param(
        _lease_spec(ld(4, vint(1, -1) + vint(2, 999_999_999))),
        {**_L, "spec": {"renewTime": "1969-12-31T23:59:59.999999Z"}},
        id="micro-time-before-epoch",
    ),
    pytest.param(
        envelope("v1", "ConfigMap", meta("n", time_msg(8, "2024-01-02T03:04:05.900Z"))),
        {"metadata": {"name": "n", "creationTimestamp": "2024-01-02T03:04:05Z"}},
        id="time-drops-fractions",
    ),
    pytest.param(
        envelope("v1", "ConfigMap", meta("n", ld(9, vint(1, -62135596800)))),
        {"metadata": {"name": "n", "deletionTimestamp": None}},
        id="go-zero-time-is-null",
    ),
    pytest.param(
        envelope(
            "v1",
            "ConfigMap",
            meta(
                "n",
                ld(17, ld(1, "kubectl") + ld(6, "FieldsV1") + ld(7, ld(1, '{"f:data":{}}'))),
            ),
        ),
        {
            "metadata": {
                "name": "n",
                "managedFields": [
                    {"manager": "kubectl", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}
                ],
            }
        },
        id="fields-v1-raw-json",
    ),
    pytest.param(
        envelope("apps/v1", "DeleteOptions", vint(1, 0) + ld(4, "Foreground") + ld(5, "All")),
        {"gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]},
        id="meta-kind-in-any-group-version",
    ),
    pytest.param(
        envelope("discovery.k8s.io/v1", "EndpointSlice", meta("e") + ld(2, ld(2, vint(1, 0)))),
        {"metadata": {"name": "e"}, "endpoints": [{"conditions": {"ready": False}}]},
        id="pointer-bool-in-nested-list",
    ),
]


@pytest.mark.parametrize(("body", "want"), CASES)
def test_decode(body: bytes, want: dict[str, Any]) -> None:
    """``want`` is the decoded object without its kind and apiVersion."""
    got = protobuf.decode(body)
    del got["kind"], got["apiVersion"]
    assert got == want


def test_envelope_kind_and_version_come_first() -> None:
    got = protobuf.decode(envelope("apps/v1", "Deployment", meta("d")))
    assert list(got) == ["kind", "apiVersion", "metadata"]
    assert got["kind"] == "Deployment" and got["apiVersion"] == "apps/v1"


ERRORS = [
    pytest.param(b'{"kind": "ConfigMap"}', "k8s\\\\x00 prefix", id="json-not-protobuf"),
    pytest.param(protobuf.MAGIC + b"\x0a\x05ab", "longer than its message", id="short-length"),
    pytest.param(protobuf.MAGIC + b"\x08\xff", "truncated varint", id="truncated-varint"),
    pytest.param(protobuf.MAGIC + b"\x08" + b"\xff" * 11, "longer than 10", id="huge-varint"),
    pytest.param(protobuf.MAGIC + b"\x0b", "wire type 3", id="group-wire-type"),
    pytest.param(protobuf.MAGIC + b"\x00\x00", "field number 0", id="field-zero"),
    pytest.param(envelope("v1", "", b""), "names no kind", id="no-kind"),
    pytest.param(envelope("batch/v1", "Job", b""), "no kind 'Job'", id="unserved-kind"),
    pytest.param(
        envelope(*_CM, b"", ld(3, "gzip")), "content encoding 'gzip'", id="content-encoding"
    ),
    pytest.param(envelope(*_CM, b"", ld(4, "application/json")), "content type", id="content-type"),
    pytest.param(_configmap(vint(2, 1)), "ConfigMap.data: got a varint", id="wrong-wire-type"),
    pytest.param(_service_port(ld(4, vint(1, 2))), "IntOrString type 2", id="int-or-string-type"),
    pytest.param(
        envelope(*_CM, meta("n", ld(17, ld(7, ld(1, "{nope"))))),
        "not JSON",
        id="fields-v1-not-json",
    ),
    pytest.param(
        envelope(*_CM, meta("n", ld(8, vint(1, 10**12)))), "outside years", id="time-range"
    ),
]


@pytest.mark.parametrize(("body", "message"), ERRORS)
def test_malformed_bodies_raise_value_error(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        protobuf.decode(body)


# --------------------------------------------------------------------------------------------
# Round trips through an encoder driven by the schema's numbers: every kind of field, nested.


def _encode_object(obj: dict[str, Any], definition: str) -> bytes:
    found = schema.definition(definition)
    assert found is not None, definition
    direct: list[bytes] = []
    embedded: dict[int, list[bytes]] = {}
    for key, value in obj.items():
        field = found.fields[key]
        if not field.proto:
            continue
        if field.map:
            data = b"".join(
                ld(field.proto, ld(1, k) + _encode_value(field, 2, v)) for k, v in value.items()
            )
        elif field.array:
            data = b"".join(_encode_value(field, field.proto, v) for v in value)
        else:
            data = _encode_value(field, field.proto, value)
        if field.proto_embed:
            embedded.setdefault(field.proto_embed, []).append(data)
        else:
            direct.append(data)
    direct.extend(ld(number, b"".join(parts)) for number, parts in embedded.items())
    return b"".join(direct)


def _encode_value(field: schema.Field, number: int, value: Any) -> bytes:
    kind = field.type
    if kind == "ref":
        return ld(number, _encode_object(value, field.ref))
    if kind == "string":
        return ld(number, value)
    if kind == "byte":
        return ld(number, base64.b64decode(value))
    if kind in ("integer", "boolean"):
        return vint(number, int(value))
    if kind == "quantity":
        return ld(number, ld(1, value))
    if kind == "int-or-string":
        if isinstance(value, str):
            return ld(number, vint(1, 1) + ld(3, value))
        return ld(number, vint(1, 0) + vint(2, value))
    if kind == "date-time":
        return time_msg(number, value)
    assert kind == "object", kind
    return ld(number, ld(1, json.dumps(value)))


def _encode(obj: dict[str, Any]) -> bytes:
    group, _, version = obj["apiVersion"].rpartition("/")
    found = schema.for_kind(group, version, obj["kind"])
    assert found is not None
    return envelope(obj["apiVersion"], obj["kind"], _encode_object(obj, found.name))


RICH_POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "rich",
        "namespace": "ns",
        "labels": {"app": "web"},
        "annotations": {"empty": ""},
        "creationTimestamp": "2024-01-02T03:04:05Z",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-1",
                "uid": "u-1",
                "controller": True,
                "blockOwnerDeletion": False,
            }
        ],
        "finalizers": ["example.com/f"],
    },
    "spec": {
        "priority": -5,
        "activeDeadlineSeconds": 12345678901,
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "nodeSelector": {"disk": "ssd"},
        "overhead": {"cpu": "250m"},
        "securityContext": {"runAsUser": 0, "supplementalGroups": [1, 3000000000]},
        "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 0}],
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {
                            "matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]
                        },
                        "topologyKey": "zone",
                    }
                ]
            }
        },
        "volumes": [
            {"name": "e", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "c", "configMap": {"name": "cm", "defaultMode": 0, "optional": True}},
            {
                "name": "p",
                "projected": {
                    "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}]
                },
            },
        ],
        "containers": [
            {
                "name": "main",
                "image": "x",
                "args": ["-c", ""],
                "ports": [{"containerPort": 80, "name": "http", "protocol": "UDP"}],
                "env": [
                    {"name": "E1"},
                    {
                        "name": "E2",
                        "valueFrom": {
                            "resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}
                        },
                    },
                    {"name": "E3", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                ],
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "0"}},
                "livenessProbe": {
                    "httpGet": {"path": "/h", "port": "http"},
                    "periodSeconds": 5,
                    "terminationGracePeriodSeconds": 7,
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "securityContext": {"privileged": False, "runAsGroup": -1},
            }
        ],
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-06T07:08:09Z"}
        ],
        "containerStatuses": [
            {
                "name": "main",
                "ready": False,
                "restartCount": 0,
                "image": "x",
                "imageID": "",
                "state": {"running": {"startedAt": "2024-05-06T07:08:10Z"}},
                "started": False,
            }
        ],
    },
}

ROUND_TRIPS = [
    pytest.param(RICH_POD, id="pod"),
    pytest.param(
        {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "d"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "d"}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        },
        id="deployment",
    ),
    pytest.param(
        {
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": "node-1",
                "leaseDurationSeconds": 40,
                "renewTime": "2024-01-02T03:04:05.000001Z",
            },
        },
        id="lease",
    ),
    pytest.param(
        {
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [
                {
                    "addresses": ["10.0.0.1"],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "name": "p", "namespace": "default"},
                }
            ],
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        },
        id="endpointslice",
    ),
    pytest.param(
        {
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {"name": "n1"},
            "spec": {"podCIDR": "10.0.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {
                "capacity": {"cpu": "2", "memory": "24Gi"},
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "nodeInfo": {
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kernelVersion": "",
                    "osImage": "",
                    "containerRuntimeVersion": "",
                    "kubeletVersion": "v1.32.0",
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        },
        id="node",
    ),
    pytest.param(
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "s"},
            "data": {"k": "AAEC", "empty": ""},
            "stringData": {"plain": "text"},
            "type": "Opaque",
            "immutable": True,
        },
        id="secret",
    ),
]


@pytest.mark.parametrize("obj", ROUND_TRIPS)
def test_round_trip(obj: dict[str, Any]) -> None:
    assert protobuf.decode(_encode(obj)) == obj


def test_every_field_has_a_unique_number() -> None:
    for definition in schema.definitions().values():
        seen: dict[tuple[int, int], str] = {}
        for field in definition.fields.values():
            if definition.gvk and field.name in ("apiVersion", "kind"):
                assert field.proto == 0
                continue
            assert field.proto > 0, f"{definition.name}.{field.name}"
            slot = (field.proto_embed, field.proto)
            assert slot not in seen, f"{definition.name}: {field.name} and {seen[slot]}"
            seen[slot] = field.name
