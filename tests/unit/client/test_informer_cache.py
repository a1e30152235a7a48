"""The informer cache: keys, upsert/delete/replace, and indexes kept in step."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.client.cache import (
    NAMESPACE_INDEX,
    Cache,
    make_key,
    namespace_index,
    object_key,
    split_key,
)


def obj(ns: str, name: str, rv: str = "1", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "resourceVersion": rv, "labels": labels}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta}


def by_app(o: dict[str, Any]) -> list[str]:
    app = o["metadata"]["labels"].get("app")
    return [app] if app else []


@pytest.mark.parametrize(
    ("o", "key", "parts"),
    [
        pytest.param(obj("default", "web"), "default/web", ("default", "web"), id="namespaced"),
        pytest.param(obj("", "node-1"), "node-1", ("", "node-1"), id="cluster-scoped"),
    ],
)
def test_object_keys(o: dict[str, Any], key: str, parts: tuple[str, str]) -> None:
    assert object_key(o) == key
    assert split_key(key) == parts
    assert make_key(*parts) == key


def test_an_object_without_a_name_has_no_key() -> None:
    with pytest.raises(ValueError, match=r"metadata\.name"):
        object_key({"metadata": {}})


def test_upsert_returns_the_previous_object_and_reindexes() -> None:
    cache = Cache({"app": by_app})
    assert cache.upsert(obj("ns", "a", "1", app="web")) is None
    old = cache.upsert(obj("ns", "a", "2", app="db"))
    assert old is not None and old["metadata"]["resourceVersion"] == "1"
    assert cache.index_keys("app", "web") == []
    assert cache.index_keys("app", "db") == ["ns/a"]
    assert cache.index_values("app") == ["db"]


def test_delete_unfiles_and_returns_the_object() -> None:
    cache = Cache({"app": by_app})
    cache.upsert(obj("ns", "a", app="web"))
    gone = cache.delete("ns/a")
    assert gone is not None
    assert "ns/a" not in cache
    assert cache.index_values("app") == []
    assert cache.delete("ns/a") is None


def test_replace_holds_exactly_the_new_set() -> None:
    cache = Cache({NAMESPACE_INDEX: namespace_index})
    cache.upsert(obj("x", "old"))
    cache.replace([obj("y", "a"), obj("y", "b"), obj("", "c")])
    assert sorted(cache.keys()) == ["c", "y/a", "y/b"]
    assert cache.index_keys(NAMESPACE_INDEX, "x") == []
    assert cache.index_keys(NAMESPACE_INDEX, "y") == ["y/a", "y/b"]
    assert [o["metadata"]["name"] for o in cache.by_index(NAMESPACE_INDEX, "")] == ["c"]


def test_an_index_added_later_files_existing_objects() -> None:
    cache = Cache()
    cache.upsert(obj("ns", "a", app="web"))
    cache.add_indexer("app", by_app)
    assert cache.index_keys("app", "web") == ["ns/a"]
    with pytest.raises(ValueError, match="already exists"):
        cache.add_indexer("app", by_app)


def test_an_unknown_index_is_an_error() -> None:
    with pytest.raises(KeyError):
        Cache().by_index("nope", "x")


def test_reads() -> None:
    cache = Cache()
    a = obj("ns", "a")
    cache.upsert(a)
    assert cache.get("ns/a") is a
    assert cache.get_object("ns", "a") is a
    assert cache.list() == [a]
    assert len(cache) == 1
