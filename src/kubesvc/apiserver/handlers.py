"""The REST verbs over an ``ObjectStore``: get, list, watch, create, update, patch, delete.

Each handler reads what it needs from the request (query parameters, body,
Accept), calls the store, and answers with an object, a list, a Table or a
Status. Errors are raised as ``StatusError`` and turned into Status bodies by
the app. Watches are streamed as newline-delimited JSON events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from kubesvc.api import errors, fields, gojson, schema, selectors
from kubesvc.api import patch as patches
from kubesvc.api.patch.jsonvalue import copy_object, deep_copy
from kubesvc.apiserver import binding, printers, scale, watchstream
from kubesvc.apiserver import negotiation as neg
from kubesvc.apiserver.request_info import RequestInfo, truthy
from kubesvc.apiserver.store import ObjectStore, timestamp

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")


@dataclass
class Reply:
    """What a handler answers: a JSON body, a status code and warning headers."""

    body: Any
    status: int = 200
    warnings: list[str] = field(default_factory=list)


def _field_validation(query: Any) -> str:
    value = query.get("fieldValidation", "") or "Warn"
    if value not in FIELD_VALIDATION:
        raise errors.BadRequest(
            f'fieldValidation parameter unsupported: "{value}". '
            "Must be one of: Ignore, Warn, Strict"
        )
    return value


def _dry_run(query: Any) -> bool:
    values = query.getall("dryRun", []) if hasattr(query, "getall") else [query.get("dryRun", "")]
    for v in values:
        if v == "All":
            return True
        if v:
            raise errors.BadRequest(f"Invalid dry run value: {v!r}")
    return False


def _exact_list(query: Any) -> bool:
    """Check a list's ``resourceVersion``/``resourceVersionMatch``/``continue`` as
    upstream's ValidateListOptions does; True when the list must be served at
    exactly ``resourceVersion`` (``resourceVersionMatch=Exact``)."""
    rv = str(query.get("resourceVersion", ""))
    match = str(query.get("resourceVersionMatch", ""))
    cont = str(query.get("continue", ""))
    if cont and rv not in ("", "0"):
        raise errors.BadRequest("specifying resource version is not allowed when using continue")
    errs: list[errors.FieldError] = []
    if match:
        if not rv:
            errs.append(
                errors.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if cont:
            errs.append(
                errors.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            )
        if match not in ("Exact", "NotOlderThan"):
            errs.append(
                errors.not_supported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""])
            )
        if match == "Exact" and rv == "0":
            errs.append(
                errors.forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if errs:
        raise errors.Invalid("ListOptions", "", errs, "meta.k8s.io")
    return match == "Exact"


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null"


def _not_an_object(value: Any) -> str:
    """Go's error for a body that is JSON but not an object (reading apiVersion/kind)."""
    return (
        "couldn't get version/kind; json parse error: json: cannot unmarshal "
        f"{_json_kind(value)} into Go value of type struct {{ APIVersion string "
        '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
    )


def _manager_from_agent(agent: str) -> str:
    """Upstream's default field manager: the User-Agent up to the first "/"."""
    return agent.split("/", 1)[0][:128] or "unknown"


class ResourceHandlers:
    """Verb handlers for one resource (and its subresources)."""

    def __init__(self, store: ObjectStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.resource = store.resource
        self.clock = clock
        d = schema.for_kind(self.resource.group, self.resource.version, self.resource.kind)
        self.definition = d.name if d else ""

    # -- body checks -----------------------------------------------------------
    def _check_body(
        self,
        body: Any,
        duplicates: list[str] | tuple[str, ...],
        mode: str,
        *,
        patch: bool = False,
    ) -> tuple[Obj, list[str]]:
        """Apply fieldValidation to a decoded body.

        Returns the object without unknown fields and the warnings to send. Wrongly
        typed values fail in every mode; unknown and duplicate fields fail under
        Strict and become warnings under Warn. For the result of a JSON, merge or
        strategic patch (``patch``) upstream's Strict message is the bare
        ``strict decoding error: ...``, without the "cannot be handled as" prefix.
        """
        kind, version = self.resource.kind, self.resource.version
        if not isinstance(body, dict):
            raise errors.BadRequest(_not_an_object(body))
        self._check_type_meta(body)
        if not self.definition:
            return body, []
        report = fields.check_fields(body, self.definition)
        if report.decode_error:
            raise errors.BadRequest(report.fatal_message(kind, version))
        problems = [f"duplicate field {errors.go_quote(p)}" for p in duplicates]
        problems += [e for e in report.strict_errors if e not in problems]
        if problems and mode == "Strict":
            if patch:
                raise errors.BadRequest("strict decoding error: " + ", ".join(problems))
            raise errors.BadRequest(fields.strict_decoding_message(kind, version, problems))
        if report.unknown:
            body = fields.prune_unknown_fields(body, self.definition)
        return body, problems if mode == "Warn" else []

    def _decode(self, request: web.Request, body: bytes, into_kind: str) -> tuple[Any, list[str]]:
        """Decode a create/update body (object, duplicate field paths).

        A body that is not a JSON object gets upstream's ``transformDecodeError``
        message for a body whose kind cannot be read: "the object provided is
        unrecognized (must be of type <Kind>): ..." with Go's own JSON error and an
        excerpt of the body.
        """
        content_type = request.headers.get("Content-Type", "")
        try:
            obj, dups = neg.decode_object(body, content_type)
        except errors.BadRequest:
            detail = None
            if neg.media_type(content_type) in (neg.JSON, ""):
                detail = gojson.syntax_error(body)
            if detail is None:
                raise
            parse_error = f"couldn't get version/kind; json parse error: {detail}"
            raise errors.BadRequest(
                gojson.unrecognized_message(into_kind, parse_error, body)
            ) from None
        if obj is not None and not isinstance(obj, dict):
            raise errors.BadRequest(
                gojson.unrecognized_message(into_kind, _not_an_object(obj), body)
            )
        return obj, dups

    def _check_type_meta(self, body: Obj) -> None:
        r = self.resource
        api_version = body.get("apiVersion")
        kind = body.get("kind")
        if api_version and api_version != r.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({r.api_version})"
            )
        if kind and kind != r.kind:
            raise errors.BadRequest(
                f"the kind in the data ({kind}) does not match the expected kind ({r.kind})"
            )

    # -- reads -----------------------------------------------------------------
    async def get(self, request: web.Request, info: RequestInfo) -> Reply:
        obj = await self.store.get(info.namespace, info.name)
        if info.subresource == "scale":
            return Reply(scale.to_scale(obj))
        if info.subresource not in ("", "status"):
            raise errors.NotFoundPath()
        accept = neg.parse_accept(request.headers.get("Accept", ""))
        if accept.table:
            return Reply(self._table([obj], request, obj["metadata"]["resourceVersion"], ""))
        return Reply(obj)

    def _matcher(self, query: Any) -> Callable[[Obj], bool] | None:
        label = query.get("labelSelector", "")
        fsel = query.get("fieldSelector", "")
        lsel = None
        if label:
            try:
                lsel = selectors.parse_label_selector(label)
            except ValueError as exc:
                raise errors.BadRequest(str(exc)) from exc
        fs = None
        if fsel:
            try:
                fs = selectors.parse_field_selector(fsel)
            except ValueError as exc:
                raise errors.BadRequest(str(exc)) from exc
            sample = self.store.strategy.field_attrs({"metadata": {}})
            custom = set(sample) - set(selectors.DEFAULT_SELECTABLE_FIELDS)
            aliases = {"spec.host": "spec.nodeName"} if self.resource.kind == "Pod" else None
            fs = selectors.check_supported(fs, sample if custom else None, aliases)
        if lsel is None and fs is None:
            return None
        attrs = self.store.strategy.field_attrs

        def match(obj: Obj) -> bool:
            if lsel is not None and not lsel.matches(
                (obj.get("metadata") or {}).get("labels") or {}
            ):
                return False
            return fs is None or fs.matches(attrs(obj))

        return match

    async def list(self, request: web.Request, info: RequestInfo) -> Reply:
        q = request.query
        limit = 0
        if q.get("limit"):
            try:
                limit = max(0, int(q["limit"]))
            except ValueError as exc:
                raise errors.BadRequest(f"invalid limit: {q['limit']}") from exc
        page = await self.store.list(
            info.namespace,
            match=self._matcher(q),
            limit=limit,
            continue_token=q.get("continue", ""),
            resource_version=q.get("resourceVersion", ""),
            exact=_exact_list(q),
        )
        accept = neg.parse_accept(request.headers.get("Accept", ""))
        if accept.table:
            return Reply(
                self._table(page.items, request, page.resource_version, page.continue_token)
            )
        meta: Obj = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
            if page.remaining is not None:
                meta["remainingItemCount"] = page.remaining
        items = []
        for obj in page.items:
            obj.pop("kind", None)
            obj.pop("apiVersion", None)
            items.append(obj)
        return Reply(
            {
                "kind": self.resource.list_kind,
                "apiVersion": self.resource.api_version,
                "metadata": meta,
                "items": items,
            }
        )

    def _table(
        self, objs: Sequence[Obj], request: web.Request, rv: str, cont: str, headers: bool = True
    ) -> Obj:
        include = request.query.get("includeObject", "Metadata") or "Metadata"
        if include not in ("None", "Metadata", "Object"):
            raise errors.BadRequest(f"includeObject: unsupported value {include!r}")
        full = [self.store._with_type(o) for o in objs]
        return printers.build_table(
            printers.printer_for(self.resource.plural, self.resource.group),
            full,
            include_object=include,
            resource_version=rv,
            continue_token=cont,
            now=self.clock(),
            with_headers=headers,
        )

    # -- watch -----------------------------------------------------------------
    async def watch(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        return await watchstream.serve(self, request, info)

    # -- writes ----------------------------------------------------------------
    async def create(self, request: web.Request, info: RequestInfo, body: bytes) -> Reply:
        if info.name and info.subresource != "binding":
            raise errors.MethodNotAllowed()
        q = request.query
        mode = _field_validation(q)
        into = "Binding" if info.subresource == "binding" else self.resource.kind
        obj, dups = self._decode(request, body, into)
        if info.subresource == "binding":
            return await self._bind(info, obj, _dry_run(q))
        obj, warnings = self._check_body(obj, dups, mode)
        obj = self._track(None, obj, request, "Update")
        created = await self.store.create(info.namespace, obj, dry_run=_dry_run(q))
        return Reply(created, 201, warnings)

    async def _bind(self, info: RequestInfo, obj: Any, dry_run: bool) -> Reply:
        node = binding.check(obj, info.name)

        async def mutate(current: Obj | None) -> Obj:
            assert current is not None
            return binding.bind(current, obj, node, timestamp(self.clock()))

        await self.store.guaranteed_update(info.namespace, info.name, mutate, dry_run=dry_run)
        return Reply(binding.SUCCESS, 201)

    def _track(
        self, old: Obj | None, new: Obj, request: web.Request, operation: str, subresource: str = ""
    ) -> Obj:
        """Record the writer in managedFields, as upstream's field manager does."""
        if not self.definition:
            return new
        manager = request.query.get("fieldManager", "") or _manager_from_agent(
            request.headers.get("User-Agent", "")
        )
        try:
            return patches.update_managed_fields(
                old,
                new,
                manager,
                operation,
                definition_name=self.definition,
                now=timestamp(self.clock()),
                api_version=self.resource.api_version,
                subresource=subresource,
            )
        except patches.PatchError:
            logger.warning("managed fields not updated kind=%s", self.resource.kind)
            return new

    async def update(self, request: web.Request, info: RequestInfo, body: bytes) -> Reply:
        q = request.query
        mode = _field_validation(q)
        obj, dups = self._decode(
            request, body, "Scale" if info.subresource == "scale" else self.resource.kind
        )
        if info.subresource == "scale":
            return await self._update_scale(info, obj, _dry_run(q))
        if info.subresource not in ("", "status", "finalize"):
            raise errors.NotFoundPath()
        obj, warnings = self._check_body(obj, dups, mode)
        sub = info.subresource
        if sub == "finalize":
            return Reply(await self._finalize(info, obj, _dry_run(q)), 200, warnings)

        def track(old: Obj | None, new: Obj) -> Obj:
            return self._track(old, new, request, "Update", sub)

        result, created = await self.store.update(
            info.namespace, info.name, obj, subresource=sub, dry_run=_dry_run(q), track=track
        )
        return Reply(result, 201 if created else 200, warnings)

    async def _finalize(self, info: RequestInfo, obj: Obj, dry_run: bool) -> Obj:
        wanted = copy_object(obj)

        async def mutate(current: Obj | None) -> Obj:
            return wanted

        result, _ = await self.store.guaranteed_update(
            info.namespace, info.name, mutate, subresource="finalize", dry_run=dry_run
        )
        return result

    async def _update_scale(self, info: RequestInfo, obj: Any, dry_run: bool) -> Reply:
        replicas = scale.replicas_from(obj)

        async def mutate(current: Obj | None) -> Obj:
            assert current is not None
            rv = ((obj or {}).get("metadata") or {}).get("resourceVersion")
            current.setdefault("spec", {})["replicas"] = replicas
            if rv:
                current["metadata"]["resourceVersion"] = rv
            return current

        result, _ = await self.store.guaranteed_update(
            info.namespace, info.name, mutate, dry_run=dry_run
        )
        return Reply(scale.to_scale(result))

    async def patch(self, request: web.Request, info: RequestInfo, body: bytes) -> Reply:
        q = request.query
        mode = _field_validation(q)
        dry_run = _dry_run(q)
        ctype = neg.media_type(request.headers.get("Content-Type", ""))
        if ctype not in neg.PATCH_TYPES:
            raise errors.UnsupportedMediaType(list(neg.PATCH_TYPES))
        if info.subresource not in ("", "status", "scale"):
            raise errors.NotFoundPath()
        manager = q.get("fieldManager", "")
        force = truthy(q.get("force"))
        if ctype == neg.APPLY_PATCH:
            patch_doc: Any = neg.decode_yaml(body)
            dups: list[str] = []
            if not manager:
                raise errors.BadRequest(
                    "PATCH requests with application/apply-patch+yaml content type must include a "
                    "field manager (via the fieldManager query parameter)"
                )
        else:
            patch_doc, dups = neg.decode_json(body)
        if force and ctype != neg.APPLY_PATCH:
            raise errors.BadRequest(
                "force: Invalid value: true: may not be specified for non-apply patch"
            )
        warnings: list[str] = []
        is_scale = info.subresource == "scale"

        async def mutate(current: Obj | None) -> Obj:
            if current is None:
                if ctype != neg.APPLY_PATCH or info.subresource:
                    raise self.store.not_found(info.name)
                if not isinstance(patch_doc, dict):
                    raise errors.BadRequest("apply patch must be an object")
                # Undeclared fields fail the apply itself (a 500, as upstream), so the
                # configuration is applied before the body checks.
                applied = self._apply_patch(ctype, None, deep_copy(patch_doc), manager, force)
                checked, warns = self._check_body(applied, dups, mode)
                warnings.extend(warns)
                return checked
            base = scale.to_scale(current) if is_scale else current
            patched = self._apply_patch(ctype, base, patch_doc, manager, force)
            if is_scale:
                current.setdefault("spec", {})["replicas"] = scale.replicas_from(patched)
                rv = (patched.get("metadata") or {}).get("resourceVersion")
                if rv:
                    current["metadata"]["resourceVersion"] = rv
                return current
            checked, warns = self._check_body(patched, dups, mode, patch=ctype != neg.APPLY_PATCH)
            warnings.extend(warns)
            if ctype != neg.APPLY_PATCH:
                checked = self._track(current, checked, request, "Update", info.subresource)
            return checked

        sub = "status" if info.subresource == "status" else ""
        result, created = await self.store.guaranteed_update(
            info.namespace,
            info.name,
            mutate,
            subresource=sub,
            dry_run=dry_run,
            allow_create=ctype == neg.APPLY_PATCH and not info.subresource,
        )
        if is_scale:
            return Reply(scale.to_scale(result), 200, warnings)
        return Reply(result, 201 if created else 200, list(dict.fromkeys(warnings)))

    def _apply_patch(
        self, ctype: str, current: Obj | None, doc: Any, manager: str, force: bool
    ) -> Obj:
        try:
            if ctype == neg.JSON_PATCH:
                assert current is not None
                result = patches.apply_json_patch(current, doc)
            elif ctype == neg.MERGE_PATCH:
                assert current is not None
                result = patches.apply_merge_patch(current, doc)
            elif ctype == neg.STRATEGIC_PATCH:
                assert current is not None
                result = patches.apply_strategic(current, doc, self.definition)
            else:
                if not isinstance(doc, dict):
                    raise errors.BadRequest("apply patch must be an object")
                self._check_type_meta(doc)
                res = patches.apply_config(
                    current,
                    doc,
                    self.definition,
                    manager,
                    force=force,
                    now=timestamp(self.clock()),
                )
                if res.conflicts or res.obj is None:
                    raise errors.StatusError(
                        patches.conflict_message(res.conflicts),
                        code=409,
                        reason="Conflict",
                        details={"causes": patches.conflict_causes(res.conflicts)},
                    )
                result = res.obj
        except patches.PatchError as exc:
            raise errors.StatusError(exc.status_message, code=exc.code, reason=exc.reason) from exc
        if not isinstance(result, dict):
            raise errors.BadRequest("the patch did not produce an object")
        return result

    async def delete(self, request: web.Request, info: RequestInfo, body: bytes) -> Reply:
        if info.subresource:
            raise errors.MethodNotAllowed()
        opts = await self._delete_options(request, body)
        pre = opts.get("preconditions") or {}
        obj, removed = await self.store.delete(
            info.namespace,
            info.name,
            precondition_uid=str(pre.get("uid") or ""),
            precondition_rv=str(pre.get("resourceVersion") or ""),
            dry_run=_dry_run(request.query) or opts.get("dryRun") == ["All"],
            propagation=str(opts.get("propagationPolicy") or ""),
            grace_period=opts.get("gracePeriodSeconds"),
        )
        if removed and not self.store.strategy.return_deleted_object:
            details: Obj = {
                "name": info.name,
                "kind": self.resource.plural,
                "uid": obj["metadata"].get("uid", ""),
            }
            if self.resource.group:
                details = {
                    "name": info.name,
                    "group": self.resource.group,
                    "kind": self.resource.plural,
                    "uid": obj["metadata"].get("uid", ""),
                }
            return Reply(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                }
            )
        return Reply(obj, 200)

    async def _delete_options(self, request: web.Request, body: bytes) -> Obj:
        opts: Obj = {}
        if body.strip():
            decoded, _ = neg.decode_object(body, request.headers.get("Content-Type", ""))
            if isinstance(decoded, dict):
                opts = decoded
        q = request.query
        if q.get("propagationPolicy"):
            opts["propagationPolicy"] = q["propagationPolicy"]
        if q.get("gracePeriodSeconds") and opts.get("gracePeriodSeconds") is None:
            opts["gracePeriodSeconds"] = q["gracePeriodSeconds"]
        grace = opts.get("gracePeriodSeconds")
        if grace is not None:
            try:
                opts["gracePeriodSeconds"] = int(grace)
            except (TypeError, ValueError):
                raise errors.BadRequest(
                    f"invalid gracePeriodSeconds {grace!r}: must be an integer"
                ) from None
        policy = opts.get("propagationPolicy")
        if policy not in (None, "", "Orphan", "Background", "Foreground"):
            raise errors.Invalid(
                "DeleteOptions",
                "",
                [
                    errors.not_supported(
                        "propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"]
                    )
                ],
            )
        return opts

    async def delete_collection(
        self, request: web.Request, info: RequestInfo, body: bytes
    ) -> Reply:
        opts = await self._delete_options(request, body)
        dry = _dry_run(request.query) or opts.get("dryRun") == ["All"]
        page = await self.store.list(info.namespace, match=self._matcher(request.query))
        removed: list[Obj] = []
        for obj in page.items:
            meta = obj["metadata"]
            try:
                gone, _ = await self.store.delete(
                    meta.get("namespace", ""),
                    meta["name"],
                    dry_run=dry,
                    grace_period=opts.get("gracePeriodSeconds"),
                )
            except errors.NotFound:
                continue
            gone.pop("kind", None)
            gone.pop("apiVersion", None)
            removed.append(gone)
        return Reply(
            {
                "kind": self.resource.list_kind,
                "apiVersion": self.resource.api_version,
                "metadata": {"resourceVersion": page.resource_version},
                "items": removed,
            }
        )
