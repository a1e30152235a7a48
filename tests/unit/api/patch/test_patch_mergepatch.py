"""JSON merge patch (RFC 7386)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.api.patch import PatchError, apply_merge_patch, create_merge_patch


# RFC 7386 appendix A, plus the cases kubectl relies on.
@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="replace-member"),
        pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="add-member"),
        pytest.param({"a": "b"}, {"a": None}, {}, id="null-deletes"),
        pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="null-deletes-one"),
        pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="list-replaced-by-scalar"),
        pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="scalar-replaced-by-list"),
        pytest.param(
            {"a": {"b": "c"}},
            {"a": {"b": "d", "c": None}},
            {"a": {"b": "d"}},
            id="nested-merge",
        ),
        pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="lists-replace-whole"),
        pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="array-document"),
        pytest.param({"a": "b"}, ["c"], ["c"], id="array-patch-replaces"),
        pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="null-in-target-kept"),
        pytest.param([1, 2], {"a": "b", "c": None}, {"a": "b"}, id="object-patch-on-array"),
        pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="nulls-in-new-value"),
        pytest.param(
            {"metadata": {"labels": {"app": "web"}}},
            {"metadata": {"labels": {"extra": "yes"}}},
            {"metadata": {"labels": {"app": "web", "extra": "yes"}}},
            id="kubectl-label",
        ),
    ],
)
def test_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    assert apply_merge_patch(target, patch) == expected


def test_merge_patch_null_document_is_bad_request() -> None:
    with pytest.raises(PatchError) as info:
        apply_merge_patch({"a": 1}, None)
    assert (info.value.code, info.value.message) == (400, "Invalid JSON Patch")


def test_merge_patch_does_not_mutate_inputs() -> None:
    target = {"a": {"b": 1}}
    patch = {"a": {"c": [1]}}
    result = apply_merge_patch(target, patch)
    result["a"]["c"].append(2)
    assert target == {"a": {"b": 1}}
    assert patch == {"a": {"c": [1]}}


_keys = st.sampled_from(["a", "b", "c", "d"])
_scalars = st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y", ""]))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=12,
)
_documents = st.dictionaries(_keys, _values, max_size=4)


@given(original=_documents, modified=_documents)
def test_merge_patch_of_diff_reproduces_target(
    original: dict[str, Any], modified: dict[str, Any]
) -> None:
    patch = create_merge_patch(original, modified)
    assert apply_merge_patch(original, patch) == modified


@given(original=_documents)
def test_diff_of_equal_documents_is_empty(original: dict[str, Any]) -> None:
    assert create_merge_patch(original, original) == {}
