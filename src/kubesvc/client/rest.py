"""The API verbs over plain dicts: ``ApiClient``.

One method per verb, each addressed by a ``Resource`` (or an ``(apiVersion,
kind)`` pair), a namespace and a name, exactly as the URL is. Objects go out
and come back as JSON dicts, untouched: unknown fields survive.

* Answers with a status of 400 or more become the ``StatusError`` subclass the
  Status body names (``errors.status_error``); transport failures become
  ``ApiUnavailable``. Nothing else is translated anywhere else.
* Reads (get, list) are retried on ``ApiUnavailable`` with back-off; writes
  are not, since whether they happened is unknown.
* Writes carry the client's field manager (``fieldManager``), so managed
  fields and server-side apply name the component that wrote.
* ``watch`` returns a ``WatchStream`` (see ``client.watch``).

The HTTP session is opened on first use, on the running loop; ``close()`` (or
``async with``) releases it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

from kubesvc import __version__
from kubesvc.api import resources
from kubesvc.api.resources import Resource
from kubesvc.client.errors import (
    ApiUnavailable,
    ResponseError,
    TLSError,
    map_transport_errors,
    status_error,
)
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.watch import WatchStream
from kubesvc.util.backoff import Backoff, BackoffPolicy
from kubesvc.util.clock import Clock, RealClock

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
ResourceRef = Resource | tuple[str, str]
"""A ``Resource`` row, or ``(apiVersion, kind)`` looked up in the resource table."""

PATCH_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclass(frozen=True, slots=True)
class ClientSettings:
    request_timeout: float = 30.0
    """Seconds for a whole non-watch request; the API answers in milliseconds."""
    connect_timeout: float = 10.0
    read_retries: int = 3
    """Extra attempts for a get or list whose connection failed."""
    retry_backoff: BackoffPolicy = field(
        default_factory=lambda: BackoffPolicy(initial=0.2, cap=2.0, jitter=0.5)
    )
    """Short: a read is retried while its caller waits."""
    token_refresh: float = 60.0
    """Seconds a token read from ``tokenFile`` is reused before reading it again."""


def resolve(ref: ResourceRef) -> Resource:
    """The ``Resource`` for a row or an ``(apiVersion, kind)`` pair."""
    if isinstance(ref, Resource):
        return ref
    found = resources.for_kind(*ref)
    if found is None:
        raise ValueError(f"no served resource for apiVersion={ref[0]!r} kind={ref[1]!r}")
    return found


def resource_of(obj: Mapping[str, Any]) -> Resource:
    """The ``Resource`` of an object, from its ``apiVersion`` and ``kind``."""
    return resolve((str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")))


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


class ApiClient:
    """Kubernetes REST over aiohttp, for one config and one field manager."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        field_manager: str = "kubesvc",
        settings: ClientSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.field_manager = field_manager
        self.settings = settings or ClientSettings()
        self.clock: Clock = clock or RealClock()
        self.user_agent = f"{field_manager}/v{__version__} (kubesvc)"
        self._session: aiohttp.ClientSession | None = None
        self._token = ("", float("-inf"))

    @property
    def namespace(self) -> str:
        """The default namespace (the current context's)."""
        return self.config.namespace

    # -- lifecycle ---------------------------------------------------------------
    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ctx = self.config.ssl_context()
            connector = aiohttp.TCPConnector(ssl=ctx if ctx is not None else False)
            s = self.settings
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(
                    total=s.request_timeout, sock_connect=s.connect_timeout
                ),
            )
        return self._session

    def _headers(self, content_type: str = "") -> dict[str, str]:
        headers: dict[str, str] = {}
        if content_type:
            headers["Content-Type"] = content_type
        token = self._bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _bearer_token(self) -> str:
        if not self.config.token_file:
            return self.config.token
        value, read_at = self._token
        now = self.clock.monotonic()
        if now - read_at >= self.settings.token_refresh:
            value = self.config.bearer_token()
            self._token = (value, now)
        return value

    def _request_kwargs(self) -> dict[str, Any]:
        if self.config.tls_server_name:
            return {"server_hostname": self.config.tls_server_name}
        return {}

    # -- one request -------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        idempotent: bool = False,
    ) -> Obj:
        data = json.dumps(body).encode() if body is not None else None
        attempts = 1 + (self.settings.read_retries if idempotent else 0)
        backoff = Backoff(self.settings.retry_backoff)
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, path, params, data, content_type)
            except ApiUnavailable as exc:
                if attempt >= attempts or isinstance(exc, TLSError):
                    raise
                delay = backoff.next()
                logger.info(
                    "retrying read after transport error path=%s attempt=%d delay=%.2f error=%s",
                    path,
                    attempt,
                    delay,
                    exc,
                )
                await self.clock.sleep(delay)
        raise AssertionError("unreachable")

    async def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        content_type: str,
    ) -> Obj:
        session = self._get_session()
        url = self.config.server + path
        headers = self._headers(content_type if data is not None else "")
        with map_transport_errors(method, url):
            async with session.request(
                method, url, params=params, data=data, headers=headers, **self._request_kwargs()
            ) as resp:
                raw = await resp.read()
                code = resp.status
        if code >= 400:
            raise status_error(code, raw)
        try:
            decoded = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise ResponseError(f"{method} {url}: answer is not JSON: {raw[:200]!r}") from exc
        if not isinstance(decoded, dict):
            raise ResponseError(f"{method} {url}: answer is not a JSON object")
        return decoded

    # -- verbs -------------------------------------------------------------------
    @staticmethod
    def _path(r: Resource, namespace: str, name: str = "", subresource: str = "") -> str:
        path = r.url_path(namespace, name)
        return f"{path}/{subresource}" if subresource else path

    def _namespace_for(self, r: Resource, obj: Mapping[str, Any], namespace: str) -> str:
        if not r.namespaced:
            return ""
        return namespace or str(_meta(obj).get("namespace") or "") or self.config.namespace

    def _write_params(self, dry_run: bool, **extra: str) -> dict[str, str]:
        params = {"fieldManager": self.field_manager, **extra}
        if dry_run:
            params["dryRun"] = "All"
        return params

    async def get(
        self, resource: ResourceRef, namespace: str, name: str, *, subresource: str = ""
    ) -> Obj:
        r = resolve(resource)
        return await self._request(
            "GET", self._path(r, namespace, name, subresource), idempotent=True
        )

    async def list(
        self,
        resource: ResourceRef,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
    ) -> Obj:
        """One list (or one page of it with ``limit``); ``namespace=""`` lists all namespaces."""
        r = resolve(resource)
        params = _selector_params(label_selector, field_selector)
        if limit:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        if resource_version:
            params["resourceVersion"] = resource_version
        return await self._request("GET", self._path(r, namespace), params=params, idempotent=True)

    async def create(
        self, resource: ResourceRef, obj: Obj, *, namespace: str = "", dry_run: bool = False
    ) -> Obj:
        """Create ``obj``; its namespace is ``namespace``, else its own, else the default."""
        r = resolve(resource)
        ns = self._namespace_for(r, obj, namespace)
        return await self._request(
            "POST", self._path(r, ns), params=self._write_params(dry_run), body=obj
        )

    async def update(
        self,
        resource: ResourceRef,
        obj: Obj,
        *,
        namespace: str = "",
        subresource: str = "",
        dry_run: bool = False,
    ) -> Obj:
        """Replace the object named by ``obj``'s metadata (a PUT, with its resourceVersion)."""
        r = resolve(resource)
        ns = self._namespace_for(r, obj, namespace)
        name = str(_meta(obj).get("name") or "")
        if not name:
            raise ValueError("update needs metadata.name")
        return await self._request(
            "PUT",
            self._path(r, ns, name, subresource),
            params=self._write_params(dry_run),
            body=obj,
        )

    async def update_status(
        self, resource: ResourceRef, obj: Obj, *, namespace: str = "", dry_run: bool = False
    ) -> Obj:
        return await self.update(
            resource, obj, namespace=namespace, subresource="status", dry_run=dry_run
        )

    async def patch(
        self,
        resource: ResourceRef,
        namespace: str,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        subresource: str = "",
        dry_run: bool = False,
    ) -> Obj:
        """PATCH with ``patch_type`` one of json, merge, strategic (see ``apply``)."""
        r = resolve(resource)
        if patch_type not in PATCH_CONTENT_TYPES or patch_type == "apply":
            raise ValueError(f"unknown patch type {patch_type!r}")
        return await self._request(
            "PATCH",
            self._path(r, namespace, name, subresource),
            params=self._write_params(dry_run),
            body=patch,
            content_type=PATCH_CONTENT_TYPES[patch_type],
        )

    async def apply(
        self,
        resource: ResourceRef,
        obj: Obj,
        *,
        namespace: str = "",
        subresource: str = "",
        force: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """Server-side apply of ``obj`` (JSON is YAML) as this client's field manager."""
        r = resolve(resource)
        ns = self._namespace_for(r, obj, namespace)
        name = str(_meta(obj).get("name") or "")
        if not name:
            raise ValueError("apply needs metadata.name")
        params = self._write_params(dry_run)
        if force:
            params["force"] = "true"
        return await self._request(
            "PATCH",
            self._path(r, ns, name, subresource),
            params=params,
            body=obj,
            content_type=PATCH_CONTENT_TYPES["apply"],
        )

    async def delete(
        self,
        resource: ResourceRef,
        namespace: str,
        name: str,
        *,
        propagation_policy: str = "",
        grace_period_seconds: int | None = None,
        uid: str = "",
        resource_version: str = "",
        dry_run: bool = False,
    ) -> Obj:
        """Delete; answers the object (while finalizers hold it) or a success Status.

        ``uid`` and ``resource_version`` are preconditions: the delete fails with
        Conflict when the stored object differs.
        """
        r = resolve(resource)
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if pre:
            options["preconditions"] = pre
        if dry_run:
            options["dryRun"] = ["All"]
        return await self._request("DELETE", self._path(r, namespace, name), body=options)

    def watch(
        self,
        resource: ResourceRef,
        namespace: str = "",
        *,
        name: str = "",
        resource_version: str = "",
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = False,
        label_selector: str = "",
        field_selector: str = "",
    ) -> WatchStream:
        """A stream of ``(type, object)`` events; the request is sent on first iteration.

        With ``resource_version`` empty (or "0") the server first sends the
        current objects as ADDED. A too-old version raises ``Expired``.
        """
        r = resolve(resource)
        params = _selector_params(label_selector, field_selector)
        params["watch"] = "true"
        if name:
            params["fieldSelector"] = ",".join(
                s for s in (f"metadata.name={name}", field_selector) if s
            )
        if resource_version:
            params["resourceVersion"] = resource_version
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        url = self.config.server + self._path(r, namespace)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.settings.connect_timeout)

        async def open_response() -> aiohttp.ClientResponse:
            return await self._get_session().request(
                "GET",
                url,
                params=params,
                headers=self._headers(),
                timeout=timeout,
                **self._request_kwargs(),
            )

        return WatchStream(open_response, url)


def _selector_params(label_selector: str, field_selector: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params
