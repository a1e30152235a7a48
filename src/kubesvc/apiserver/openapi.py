"""The OpenAPI v3 documents the API server publishes under ``/openapi/v3``.

Who reads them and for what:

* ``kubectl create`` / ``apply`` read the index and the document of the object's
  group-version on *every* run. They look for a PATCH operation whose
  ``x-kubernetes-group-version-kind`` is the object's kind and which declares the
  ``fieldValidation`` query parameter; when they find it they leave field
  validation to the server (``fieldValidation=Strict``). Without it they fall
  back to ``/openapi/v2`` and then abort. So every PATCH (and, like upstream,
  every POST and PUT) operation declares ``fieldValidation``, ``dryRun`` and
  ``fieldManager``.
* Client-side ``kubectl apply`` takes the strategic-merge metadata
  (``x-kubernetes-patch-strategy`` / ``-merge-key``) from the kind's schema,
  following ``allOf``/``$ref`` property by property.
* ``kubectl explain`` finds the schema whose ``x-kubernetes-group-version-kind``
  lists the resource's kind and walks its properties, printing descriptions.

Shape (after kube-apiserver 1.32): the index maps ``api/v1``, ``apis/<g>/<v>``
to ``/openapi/v3/<path>?hash=<H>`` where ``H`` is the upper-case hex SHA-512 of
that document; a document has ``paths`` (collection, item, all-namespaces list
and subresource paths, each operation carrying its GVK and
``x-kubernetes-action``) and ``components.schemas`` converted from
``kubesvc.api.schema``: a property that refers to another definition is
``{"allOf": [{"$ref": ...}], "description": ...}``, IntOrString, Quantity, Time
and MicroTime are definitions of their own as upstream has them.

Only group-versions with served resources have a document; ``autoscaling/v1``
has none because discovery does not list it (its Scale schema is in the
documents whose resources have a ``scale`` subresource).

Everything is a pure function of the resource table and the schema, so the
rendered bytes are computed once per process (``document_bytes``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from kubesvc.api import resources, schema
from kubesvc.api.resources import Resource, Subresource

INFO = {"title": "Kubernetes", "version": "v1.32.0"}
REF_PREFIX = "#/components/schemas/"

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
MICRO_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"

# Definitions our schema keeps as field types, written out as upstream's documents have them.
_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    INT_OR_STRING: {
        "description": "Either an integer or a string; a port may be given by number or by name.",
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
    },
    QUANTITY: {
        "description": "A decimal amount with an optional SI or binary suffix, such as 500m, "
        "1.5 or 128Mi.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
    TIME: {
        "description": "A timestamp in RFC 3339 form, to the second.",
        "format": "date-time",
        "type": "string",
    },
    MICRO_TIME: {
        "description": "A timestamp in RFC 3339 form with microseconds.",
        "format": "date-time",
        "type": "string",
    },
    PATCH: {
        "description": "A patch body; its format is given by the request's Content-Type.",
        "type": "object",
    },
}
_FIELD_TYPE_REFS = {"int-or-string": INT_OR_STRING, "quantity": QUANTITY}

_PRIMITIVES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number", "format": "double"},
    "byte": {"type": "string", "format": "byte"},
    "object": {"type": "object"},
}

_CONTENT_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_WATCH_TYPES = ("application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)

_QUERY_PARAMS: dict[str, tuple[str, str]] = {
    "dryRun": ("string", "When All, the request is processed in full but nothing is persisted."),
    "fieldManager": ("string", "Name of the actor making the change, recorded as its manager."),
    "fieldValidation": (
        "string",
        "What to do with unknown or duplicate fields in the body: Ignore, Warn (the default) "
        "or Strict.",
    ),
    "force": ("boolean", "For apply requests: take over fields other managers own."),
    "pretty": ("string", "Indent the response when 'true'."),
    "gracePeriodSeconds": ("integer", "Seconds before the object is deleted; 0 means now."),
    "orphanDependents": ("boolean", "Deprecated: use propagationPolicy."),
    "propagationPolicy": ("string", "What happens to dependents: Orphan, Background, Foreground."),
    "allowWatchBookmarks": ("boolean", "Let a watch send BOOKMARK events."),
    "continue": ("string", "Token from a previous page of this list."),
    "fieldSelector": ("string", "Only objects whose fields match, such as metadata.name=web."),
    "labelSelector": ("string", "Only objects whose labels match, such as app=web."),
    "limit": ("integer", "Largest number of items to return in one page."),
    "resourceVersion": ("string", "Which version of the data the request may be served from."),
    "resourceVersionMatch": ("string", "How resourceVersion is applied to a list."),
    "sendInitialEvents": ("boolean", "Start a watch with the current objects as ADDED events."),
    "timeoutSeconds": ("integer", "End a list or watch after this many seconds."),
    "watch": ("boolean", "Stream changes instead of returning a list."),
    "container": ("string", "Container whose log to read; needed when the pod has several."),
    "follow": ("boolean", "Keep streaming the log."),
    "previous": ("boolean", "Read the log of the previous, terminated container."),
    "sinceSeconds": ("integer", "Only log lines newer than this many seconds."),
    "tailLines": ("integer", "Only this many lines from the end of the log."),
    "timestamps": ("boolean", "Prefix each log line with its timestamp."),
    "limitBytes": ("integer", "Stop after this many bytes of log."),
}
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
_LOG_PARAMS = (
    "container",
    "follow",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "tailLines",
    "timestamps",
)


# --------------------------------------------------------------------------------------------
# Schemas


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": REF_PREFIX + name}


def _referenced_name(f: schema.Field) -> str:
    """The definition a field's values point at, or "" for plain JSON types."""
    if f.type == "ref":
        return f.ref
    if f.type == "date-time":
        return MICRO_TIME if f.format == "micro-time" else TIME
    return _FIELD_TYPE_REFS.get(f.type, "")


def property_schema(f: schema.Field) -> dict[str, Any]:
    """One field as an OpenAPI v3 property, with its description and patch metadata."""
    target = _referenced_name(f)
    if target:
        item: dict[str, Any] = _ref(target)
    elif f.type == "integer":
        item = {"type": "integer", "format": f.format or "int32"}
    else:
        item = dict(_PRIMITIVES[f.type])
    if f.array:
        prop: dict[str, Any] = {"type": "array", "items": item}
    elif f.map:
        prop = {"type": "object", "additionalProperties": item}
    elif target:
        prop = {"allOf": [item]}
    else:
        prop = item
    if f.description:
        prop["description"] = f.description
    if f.patch_strategy:
        prop["x-kubernetes-patch-strategy"] = f.patch_strategy
    if f.merge_key:
        prop["x-kubernetes-patch-merge-key"] = f.merge_key
    if f.list_type:
        prop["x-kubernetes-list-type"] = f.list_type
    if f.list_map_keys:
        prop["x-kubernetes-list-map-keys"] = list(f.list_map_keys)
    if f.map_type:
        prop["x-kubernetes-map-type"] = f.map_type
    return prop


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def definition_schema(d: schema.Definition) -> dict[str, Any]:
    """One definition as an OpenAPI v3 component schema."""
    out: dict[str, Any] = {
        "description": d.description,
        "properties": {name: property_schema(f) for name, f in sorted(d.fields.items())},
        "type": "object",
    }
    required = sorted(f.name for f in d.fields.values() if f.required)
    if required:
        out["required"] = required
    if d.name == DELETE_OPTIONS:
        # One DeleteOptions serves every group, as upstream's documents list it.
        gvs = [("", "v1"), *resources.group_versions(), ("autoscaling", "v1")]
        out["x-kubernetes-group-version-kind"] = [
            _gvk(g, v, "DeleteOptions") for g, v in sorted(set(gvs))
        ]
    elif d.gvk:
        out["x-kubernetes-group-version-kind"] = [_gvk(*d.gvk)]
    if d.struct_type:
        out["x-kubernetes-map-type"] = d.struct_type
    return out


def _closure(roots: list[str]) -> dict[str, dict[str, Any]]:
    """Component schemas for ``roots`` and everything they reference."""
    out: dict[str, dict[str, Any]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name in _SCALAR_SCHEMAS:
            out[name] = _SCALAR_SCHEMAS[name]
            continue
        d = schema.definition(name)
        if d is None:
            raise LookupError(f"schema definition {name} is missing")
        out[name] = definition_schema(d)
        todo.extend(t for f in d.fields.values() if (t := _referenced_name(f)))
    return dict(sorted(out.items()))


def _definition_name(group: str, version: str, kind: str) -> str:
    d = schema.for_kind(group, version, kind)
    if d is None:
        raise LookupError(f"no schema for {group}/{version} {kind}")
    return d.name


# --------------------------------------------------------------------------------------------
# Paths


def _param(name: str, where: str = "query", description: str = "") -> dict[str, Any]:
    if where == "path":
        return {
            "description": description,
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"type": "string", "uniqueItems": True},
        }
    kind, text = _QUERY_PARAMS[name]
    return {
        "description": text,
        "in": "query",
        "name": name,
        "schema": {"type": kind, "uniqueItems": True},
    }


def _content(ref_name: str, types: tuple[str, ...] = _CONTENT_TYPES) -> dict[str, Any]:
    return {t: {"schema": _ref(ref_name)} for t in types}


def _responses(
    ref_name: str, codes: tuple[str, ...], types: tuple[str, ...] = _CONTENT_TYPES
) -> dict[str, Any]:
    texts = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: dict[str, Any] = {
        code: {"content": _content(ref_name, types), "description": texts[code]} for code in codes
    }
    out["401"] = {"description": "Unauthorized"}
    return out


class _Ops:
    """Builds the operations of one group-version."""

    def __init__(self, group: str, version: str) -> None:
        self.group = group
        self.version = version
        token = group.split(".")[0].capitalize() if group else "Core"
        self.id_part = f"{token}{version.capitalize()}"
        self.tag = f"{token.lower()}_{version}"

    def op(
        self,
        action: str,
        gvk: tuple[str, str, str],
        op_id: str,
        description: str,
        *,
        params: tuple[str, ...] = (),
        body: dict[str, Any] | None = None,
        responses: dict[str, Any],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": description,
            "operationId": op_id,
            "responses": responses,
            "tags": [self.tag],
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": _gvk(*gvk),
        }
        if params:
            out["parameters"] = [_param(p) for p in params]
        if body is not None:
            out["requestBody"] = body
        return out


def _body(ref_name: str, *, patch: bool = False) -> dict[str, Any]:
    types = _PATCH_TYPES if patch else ("*/*",)
    return {"content": {t: {"schema": _ref(ref_name)} for t in types}, "required": True}


def _item_ops(
    ops: _Ops, r: Resource, name: str, scope: str, suffix: str, kind: str
) -> dict[str, Any]:
    """get/put/patch/delete on one object."""
    gvk = (r.group, r.version, r.kind)
    what = f"{ops.id_part}{scope}{r.kind}{suffix}"
    out: dict[str, Any] = {}
    if "get" in r.verbs:
        out["get"] = ops.op(
            "get",
            gvk,
            f"read{what}",
            f"Read the named {kind}.",
            responses=_responses(name, ("200",)),
        )
    if "update" in r.verbs:
        out["put"] = ops.op(
            "put",
            gvk,
            f"replace{what}",
            f"Replace the named {kind}.",
            params=_WRITE_PARAMS,
            body=_body(name),
            responses=_responses(name, ("200", "201")),
        )
    if "patch" in r.verbs:
        out["patch"] = ops.op(
            "patch",
            gvk,
            f"patch{what}",
            f"Partially update the named {kind}.",
            params=(*_WRITE_PARAMS, "force"),
            body=_body(PATCH, patch=True),
            responses=_responses(name, ("200", "201")),
        )
    if "delete" in r.verbs:
        out["delete"] = ops.op(
            "delete",
            gvk,
            f"delete{what}",
            f"Delete the named {kind}.",
            params=_DELETE_PARAMS,
            body={"content": {"*/*": {"schema": _ref(DELETE_OPTIONS)}}},
            responses=_responses(STATUS, ("200", "202")),
        )
    return out


def _collection_ops(
    ops: _Ops, r: Resource, name: str, list_name: str, scope: str
) -> dict[str, Any]:
    """list/create/deletecollection on a collection."""
    gvk = (r.group, r.version, r.kind)
    what = f"{ops.id_part}{scope}{r.kind}"
    out: dict[str, Any] = {}
    if "list" in r.verbs:
        out["get"] = ops.op(
            "list",
            gvk,
            f"list{what}",
            f"List or watch {r.kind} objects.",
            params=_LIST_PARAMS,
            responses=_responses(list_name, ("200",), _CONTENT_TYPES + _WATCH_TYPES),
        )
    if "create" in r.verbs:
        out["post"] = ops.op(
            "post",
            gvk,
            f"create{what}",
            f"Create a {r.kind}.",
            params=_WRITE_PARAMS,
            body=_body(name),
            responses=_responses(name, ("200", "201", "202")),
        )
    if "deletecollection" in r.verbs:
        out["delete"] = ops.op(
            "deletecollection",
            gvk,
            f"deleteCollection{what}",
            f"Delete a collection of {r.kind} objects.",
            params=(*_DELETE_PARAMS, *_LIST_PARAMS),
            body={"content": {"*/*": {"schema": _ref(DELETE_OPTIONS)}}},
            responses=_responses(STATUS, ("200",)),
        )
    return out


def _subresource_ops(
    ops: _Ops, r: Resource, sub: Subresource, scope: str
) -> tuple[dict[str, Any], str]:
    """Operations of one subresource and the definition they carry."""
    name = _definition_name(sub.group, sub.version, sub.kind)
    gvk = (sub.group, sub.version, sub.kind)
    what = f"{ops.id_part}{scope}{r.kind}{sub.name.capitalize()}"
    label = f"{sub.name} of the named {r.kind}"
    out: dict[str, Any] = {}
    if sub.name == "log":
        out["get"] = ops.op(
            "get",
            gvk,
            f"read{what}",
            f"Read the log of the named {r.kind}.",
            params=_LOG_PARAMS,
            responses={
                "200": {
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                    "description": "OK",
                }
            },
        )
        return out, ""
    if "get" in sub.verbs:
        out["get"] = ops.op(
            "get", gvk, f"read{what}", f"Read the {label}.", responses=_responses(name, ("200",))
        )
    if "update" in sub.verbs:
        out["put"] = ops.op(
            "put",
            gvk,
            f"replace{what}",
            f"Replace the {label}.",
            params=_WRITE_PARAMS,
            body=_body(name),
            responses=_responses(name, ("200", "201")),
        )
    if "patch" in sub.verbs:
        out["patch"] = ops.op(
            "patch",
            gvk,
            f"patch{what}",
            f"Partially update the {label}.",
            params=(*_WRITE_PARAMS, "force"),
            body=_body(PATCH, patch=True),
            responses=_responses(name, ("200", "201")),
        )
    if "create" in sub.verbs:
        out["post"] = ops.op(
            "post",
            gvk,
            f"create{what}",
            f"Create the {label}.",
            params=_WRITE_PARAMS,
            body=_body(name),
            responses=_responses(name, ("200", "201", "202")),
        )
    return out, name


def _path_params(namespaced: bool, kind: str, item: bool) -> list[dict[str, Any]]:
    out = []
    if item:
        out.append(_param("name", "path", f"Name of the {kind}."))
    if namespaced:
        out.append(_param("namespace", "path", "Namespace of the objects."))
    out.append(_param("pretty"))
    return out


def _resource_paths(ops: _Ops, r: Resource, roots: list[str]) -> dict[str, dict[str, Any]]:
    name = _definition_name(r.group, r.version, r.kind)
    list_name = _definition_name(r.group, r.version, r.list_kind)
    roots += [name, list_name]
    base = f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"
    scope = "Namespaced" if r.namespaced else ""
    collection = (
        f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
    )
    item = f"{collection}/{{name}}"
    paths: dict[str, dict[str, Any]] = {}
    if r.namespaced and "list" in r.verbs:
        everywhere = ops.op(
            "list",
            (r.group, r.version, r.kind),
            f"list{ops.id_part}{r.kind}ForAllNamespaces",
            f"List or watch {r.kind} objects in every namespace.",
            params=_LIST_PARAMS,
            responses=_responses(list_name, ("200",), _CONTENT_TYPES + _WATCH_TYPES),
        )
        paths[f"{base}/{r.plural}"] = {"get": everywhere, "parameters": [_param("pretty")]}
    paths[collection] = {
        **_collection_ops(ops, r, name, list_name, scope),
        "parameters": _path_params(r.namespaced, r.kind, item=False),
    }
    paths[item] = {
        **_item_ops(ops, r, name, scope, "", r.kind),
        "parameters": _path_params(r.namespaced, r.kind, item=True),
    }
    for sub in r.subresources:
        sub_ops, sub_name = _subresource_ops(ops, r, sub, scope)
        if sub_name:
            roots.append(sub_name)
        if sub_ops:
            paths[f"{item}/{sub.name}"] = {
                **sub_ops,
                "parameters": _path_params(r.namespaced, r.kind, item=True),
            }
    return paths


# --------------------------------------------------------------------------------------------
# Documents


def gv_path(group: str, version: str) -> str:
    """``api/v1`` or ``apis/<group>/<version>``: the document's key in the index."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def group_version_document(group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one served group-version, or None if it is not served."""
    served = resources.in_group_version(group, version)
    if not served:
        return None
    ops = _Ops(group, version)
    roots: list[str] = [STATUS, DELETE_OPTIONS, PATCH]
    paths: dict[str, dict[str, Any]] = {}
    for r in served:
        paths.update(_resource_paths(ops, r, roots))
    return {
        "components": {"schemas": _closure(roots)},
        "info": dict(INFO),
        "openapi": "3.0.0",
        "paths": dict(sorted(paths.items())),
    }


def _encode(doc: dict[str, Any]) -> tuple[bytes, str]:
    data = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return data, hashlib.sha512(data).hexdigest().upper()


def index_document() -> dict[str, Any]:
    """The ``/openapi/v3`` index: each served group-version's document URL with its hash."""
    paths = {}
    for group, version in resources.group_versions():
        key = gv_path(group, version)
        rendered = _rendered(key)
        assert rendered is not None
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={rendered[1]}"}
    return {"paths": paths}


@cache
def _rendered(key: str) -> tuple[bytes, str] | None:
    if key == "":
        return _encode(index_document())
    parts = key.split("/")
    if len(parts) == 2 and parts[0] == "api":
        doc = group_version_document("", parts[1])
    elif len(parts) == 3 and parts[0] == "apis":
        doc = group_version_document(parts[1], parts[2])
    else:
        return None
    return _encode(doc) if doc is not None else None


def document_bytes(path: str) -> tuple[bytes, str] | None:
    """The rendered JSON and its hash (the ETag value) for a request path, memoised.

    ``path`` may be the full request path (``/openapi/v3/apis/apps/v1?hash=...``)
    or the index key (``apis/apps/v1``); ``/openapi/v3`` or ``""`` is the index.
    None when no such document exists.
    """
    key = path.split("?", 1)[0].strip("/")
    if key == "openapi/v3":
        key = ""
    elif key.startswith("openapi/v3/"):
        key = key[len("openapi/v3/") :]
    return _rendered(key)
