"""Watch streams: the initial state, then every change, as newline-delimited JSON events.

A watch lists first when it starts from "" or "0" (synthetic ADDED events), then follows
the store from a revision. Events are filtered by the label and field selectors, turning
an object that starts or stops matching into ADDED or DELETED as upstream does; with a
Table Accept each event carries a one-row Table, with column definitions only in the
first. A compacted revision ends the stream with an ERROR event holding a 410 Status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubesvc.api import errors
from kubesvc.api.jsonenc import dumps
from kubesvc.apiserver import negotiation as neg
from kubesvc.apiserver.request_info import RequestInfo, truthy
from kubesvc.apiserver.store import WatchEvent
from kubesvc.storage import interface as st

if TYPE_CHECKING:
    from kubesvc.apiserver.handlers import ResourceHandlers

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

BOOKMARK_INTERVAL = 60.0
"""How long a watch with bookmarks stays silent before it sends one."""


async def serve(h: ResourceHandlers, request: web.Request, info: RequestInfo) -> web.StreamResponse:
    """Stream a watch: initial events, then live ones, as newline-delimited JSON."""
    q = request.query
    match = h._matcher(q)
    accept = neg.parse_accept(request.headers.get("Accept", ""))
    rv_param = q.get("resourceVersion", "")
    timeout = None
    if q.get("timeoutSeconds"):
        try:
            timeout = float(q["timeoutSeconds"])
        except ValueError as exc:
            raise errors.BadRequest("invalid timeoutSeconds") from exc
        # 0 means "not given" (the server's own limit), as upstream reads it;
        # `kubectl wait --timeout=1s` sends it once its time is nearly up.
        timeout = timeout if timeout > 0 else None
    bookmarks = truthy(q.get("allowWatchBookmarks"))
    send_initial = q.get("sendInitialEvents")
    name = info.name
    if not name and q.get("fieldSelector", "").startswith("metadata.name="):
        pass

    initial: list[Obj] = []
    if rv_param in ("", "0") or truthy(send_initial):
        page = await h.store.list(info.namespace, match=match)
        initial = [o for o in page.items if not name or o["metadata"]["name"] == name]
        start = int(page.resource_version)
    else:
        try:
            start = int(rv_param)
        except ValueError as exc:
            raise errors.BadRequest(f"invalid resource version: {rv_param}") from exc

    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    resp.enable_chunked_encoding()
    await resp.prepare(request)

    first = [True]

    def encode(kind: str, obj: Obj) -> bytes:
        if accept.table and kind != "ERROR" and kind != "BOOKMARK":
            table = h._table(
                [obj], request, obj["metadata"].get("resourceVersion", ""), "", headers=first[0]
            )
            first[0] = False
            return dumps({"type": kind, "object": table})
        return dumps({"type": kind, "object": obj})

    try:
        events = h.store.watch(info.namespace, start, name=name)
    except st.Compacted as exc:
        status = errors.Expired(f"too old resource version: {start} ({exc.compacted})")
        await resp.write(dumps({"type": "ERROR", "object": status.to_status()}))
        await resp.write_eof()
        return resp

    async def pump() -> None:
        for obj in initial:
            await resp.write(encode("ADDED", obj))
        if bookmarks and initial is not None and (rv_param in ("", "0") and truthy(send_initial)):
            await resp.write(_bookmark(h, str(start), initial_end=True))
        last_rv = start
        if not bookmarks:
            async for ev in events:
                out = _filter(ev, match)
                if out is not None:
                    await resp.write(encode(out[0], out[1]))
            return
        # With bookmarks, a reader task feeds a queue so that waiting for the next
        # event can time out without cancelling the event stream ith.
        queue: asyncio.Queue[WatchEvent | BaseException | None] = asyncio.Queue(maxsize=256)

        async def reader() -> None:
            try:
                async for ev in events:
                    await queue.put(ev)
                await queue.put(None)
            except Exception as exc:
                await queue.put(exc)

        feeder = asyncio.create_task(reader())
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), BOOKMARK_INTERVAL)
                except TimeoutError:
                    await resp.write(_bookmark(h, str(last_rv)))
                    continue
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                last_rv = item.revision
                out = _filter(item, match)
                if out is not None:
                    await resp.write(encode(out[0], out[1]))
        finally:
            feeder.cancel()

    try:
        if timeout is not None:
            await asyncio.wait_for(pump(), timeout)
        else:
            await pump()
    except TimeoutError:
        pass
    except st.Compacted as exc:
        expired = errors.Expired(f"too old resource version: {start} ({exc.compacted})")
        await resp.write(dumps({"type": "ERROR", "object": expired.to_status()}))
    except ConnectionResetError:
        # The client went away (an interrupted `kubectl get -w`, a finished
        # `kubectl wait`): the normal end of most watches, nothing to answer.
        logger.debug("watch client disconnected")
        return resp
    except asyncio.CancelledError:
        raise
    except st.StorageError as exc:
        gone = errors.Gone(f"watch ended: {exc}")
        await resp.write(dumps({"type": "ERROR", "object": gone.to_status()}))
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    try:
        await resp.write_eof()
    except ConnectionResetError:
        logger.debug("watch client disconnected")
    return resp


def _bookmark(h: ResourceHandlers, rv: str, initial_end: bool = False) -> bytes:
    meta: Obj = {"resourceVersion": rv}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return dumps(
        {
            "type": "BOOKMARK",
            "object": {
                "kind": h.resource.kind,
                "apiVersion": h.resource.api_version,
                "metadata": meta,
            },
        }
    )


def _filter(ev: WatchEvent, match: Callable[[Obj], bool] | None) -> tuple[str, Obj] | None:
    if match is None:
        return ev.type, ev.object
    now = match(ev.object)
    before = ev.old is not None and match(ev.old)
    if ev.type == "DELETED":
        return ("DELETED", ev.object) if now else None
    if ev.type == "ADDED":
        return ("ADDED", ev.object) if now else None
    if now and before:
        return "MODIFIED", ev.object
    if now:
        return "ADDED", ev.object
    if before:
        return "DELETED", ev.object
    return None
