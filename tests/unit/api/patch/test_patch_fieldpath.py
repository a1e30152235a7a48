"""Field paths: FieldsV1 trees and the text of conflict messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.api.patch import fieldpath as fp

PORT = fp.key([("protocol", "TCP"), ("port", 80)])


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param((fp.field("spec"), fp.field("replicas")), ".spec.replicas", id="fields"),
        pytest.param(
            (fp.field("spec"), fp.field("ports"), PORT, fp.field("targetPort")),
            '.spec.ports[port=80,protocol="TCP"].targetPort',
            id="keyed-item",
        ),
        pytest.param(
            (fp.field("metadata"), fp.field("finalizers"), fp.value("a/b")),
            '.metadata.finalizers[="a/b"]',
            id="set-item",
        ),
        pytest.param((fp.field("args"), fp.index(2)), ".args[2]", id="index"),
    ],
)
def test_path_string(path: fp.Path, text: str) -> None:
    assert fp.path_string(path) == text


def test_fields_v1_tree_marks_members_with_children() -> None:
    ports = (fp.field("spec"), fp.field("ports"))
    paths = {
        ports,
        (*ports, PORT),
        (*ports, PORT, fp.field("port")),
        (*ports, PORT, fp.field("targetPort")),
        (fp.field("metadata"), fp.field("finalizers"), fp.value("x")),
        (fp.field("metadata"), fp.field("labels"), fp.field("app")),
    }
    tree = fp.to_fields_v1(paths)
    assert tree == {
        "f:metadata": {"f:finalizers": {'v:"x"': {}}, "f:labels": {"f:app": {}}},
        "f:spec": {
            "f:ports": {
                ".": {},
                'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}},
            }
        },
    }
    assert list(tree) == ["f:metadata", "f:spec"]
    assert fp.from_fields_v1(tree) == paths


def test_key_values_are_go_json() -> None:
    pe = fp.key([("name", "<a&b>"), ("n", 1.0)])
    assert fp.serialize_element(pe) == 'k:{"n":1,"name":"\\u003ca\\u0026b\\u003e"}'


@pytest.mark.parametrize(
    "tree",
    [
        pytest.param({"x:y": {}}, id="unknown-element-type"),
        pytest.param({"f": {}}, id="too-short"),
        pytest.param({"f:a": 1}, id="non-object-node"),
        pytest.param([], id="not-an-object"),
        pytest.param({"k:[1]": {}}, id="key-not-object"),
    ],
)
def test_malformed_fields_v1(tree: Any) -> None:
    with pytest.raises(ValueError):
        fp.from_fields_v1(tree)


_names = st.sampled_from(["a", "b", "spec", "f:x", "."])
_elements = st.one_of(
    _names.map(fp.field),
    st.integers(0, 3).map(fp.index),
    st.one_of(st.integers(-2, 2), st.text(max_size=3), st.booleans()).map(fp.value),
    st.dictionaries(_names, st.one_of(st.integers(0, 9), st.text(max_size=2)), min_size=1).map(
        lambda d: fp.key(d.items())
    ),
)


@given(st.sets(st.lists(_elements, min_size=1, max_size=4).map(tuple), max_size=8))
def test_fields_v1_round_trip(paths: set[fp.Path]) -> None:
    assert fp.from_fields_v1(fp.to_fields_v1(paths)) == paths
