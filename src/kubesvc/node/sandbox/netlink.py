"""The only module that talks netlink (pyroute2) and switches network namespaces.

Every function here blocks; ``netns.NetnsSandbox`` runs them with ``asyncio.to_thread``.

Namespaces are entered per *thread*, never per process: ``unshare(CLONE_NEWNET)``
and ``setns`` change only the calling thread. Work inside a pod's namespace runs on
a fresh ``threading.Thread`` that exits afterwards, so no pooled thread is ever left
in the wrong namespace and nothing forks (pyroute2's own ``netns.create`` and
``IPRoute(netns=...)`` fork a child each, about 15 ms apiece). A netlink socket
belongs to the namespace its thread was in when it was opened.

A pod namespace is a file under ``/run/netns`` (``ip netns`` sees it) bind-mounted
from the creating thread's ``/proc/thread-self/ns/net``; ``/run/netns`` is made a
shared mount first, as iproute2 does, so that unmounting it also reaches mount
namespaces cloned later (the containers').

Ownership marker: the agent's namespace holds a netns id for every pod namespace it
linked a veth to (the kernel assigns one when the veth pair spans the two). A
``ksvc-*`` namespace without one belongs to another agent on the same machine and is
never swept.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError as NetlinkError  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2
LOOPBACK_IFINDEX = 1
POD_IFINDEX = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_shared_dirs: set[Path] = set()
_shared_lock = threading.Lock()


def _check(result: int, what: str, target: object) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}", str(target))


def run_in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a new thread that ends with it (for namespace switches)."""
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["result"] = fn()
        except BaseException as err:  # handed to the caller below
            box["error"] = err

    thread = threading.Thread(target=body, name="kubesvc-netns", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


def current_netns_fd() -> int:
    """An open fd of the calling thread's network namespace (the caller closes it)."""
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def ensure_shared_dir(directory: Path) -> None:
    """Create ``directory`` and make it a shared mount point (iproute2's recipe: if it is
    not a mount point yet, bind-mount it on itself first)."""
    with _shared_lock:
        if directory in _shared_dirs:
            return
        directory.mkdir(parents=True, exist_ok=True)
        raw = str(directory).encode()
        if _libc.mount(b"none", raw, None, MS_SHARED | MS_REC, None) != 0:
            _check(_libc.mount(raw, raw, b"none", MS_BIND | MS_REC, None), "bind", directory)
            _check(_libc.mount(b"none", raw, None, MS_SHARED | MS_REC, None), "share", directory)
        _shared_dirs.add(directory)


def create_netns(path: Path, inside: Callable[[Any], T]) -> T:
    """Create a network namespace bound at ``path`` and run ``inside(ipr)`` in it with an
    ``IPRoute`` of that namespace. Fails if ``path`` exists."""
    ensure_shared_dir(path.parent)

    def body() -> T:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
        os.close(fd)
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare", path)
            source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
            _check(_libc.mount(source, str(path).encode(), b"none", MS_BIND, None), "mount", path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(path)
            raise
        with open_iproute() as ipr:
            return inside(ipr)

    return run_in_thread(body)


def remove_netns(path: Path) -> bool:
    """Unmount and remove a namespace file; False if there was none. The namespace itself
    ends with its last process."""
    if not os.path.lexists(path):
        return False
    if _libc.umount2(str(path).encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):  # EINVAL: not mounted (half made)
            raise OSError(code, f"umount: {os.strerror(code)}", str(path))
    with suppress(FileNotFoundError):
        os.unlink(path)
    return True


def is_netns(path: Path) -> bool:
    """A namespace is mounted at ``path`` (not just an empty placeholder file)."""
    try:
        return os.path.ismount(path)
    except OSError:
        return False


@contextmanager
def open_iproute() -> Iterator[Any]:
    """An ``IPRoute`` of the calling thread's namespace (use it in that thread only).

    pyroute2 runs an asyncio loop of its own under its blocking API, made by the
    process's loop policy; under uvloop's policy its netlink socket fails
    ("invalid family 16"). So it gets a plain selector loop, closed with it.
    """
    loop = asyncio.SelectorEventLoop()
    try:
        ipr = IPRoute(use_event_loop=loop)
        try:
            yield ipr
        finally:
            ipr.close()
    finally:
        loop.close()


def link_index(ipr: Any, name: str) -> int | None:
    found: list[int] = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def ensure_bridge(ipr: Any, name: str, address: str, prefixlen: int, mac: str) -> int:
    """Create (or adopt) the bridge ``name`` with ``address/prefixlen`` and a fixed MAC, up.
    A bridge's MAC otherwise follows its lowest port and changes as pods come and go,
    leaving stale gateway entries in the pods' ARP caches."""
    index = link_index(ipr, name)
    if index is None:
        try:
            ipr.link("add", ifname=name, kind="bridge", address=mac)
        except NetlinkError as err:
            if err.code != errno.EEXIST:
                raise
        index = link_index(ipr, name)
        if index is None:
            raise OSError(errno.ENODEV, "bridge vanished", name)
    have = {
        (a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index, family=2)
    }
    if (address, prefixlen) not in have:
        try:
            ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
        except NetlinkError as err:
            if err.code != errno.EEXIST:
                raise
    ipr.link("set", index=index, state="up")
    return index


def delete_link(ipr: Any, name: str) -> bool:
    """Delete the interface ``name`` (for a veth, both ends); False if there was none."""
    index = link_index(ipr, name)
    if index is None:
        return False
    try:
        ipr.link("del", index=index)
    except NetlinkError as err:
        if err.code != errno.ENODEV:
            raise
        return False
    return True


def attach_to_bridge(ipr: Any, name: str, bridge_index: int) -> None:
    index = link_index(ipr, name)
    if index is None:
        raise OSError(errno.ENODEV, "veth host end missing", name)
    ipr.link("set", index=index, master=bridge_index, state="up")


def links_on_bridge(ipr: Any, bridge_index: int) -> list[str]:
    """Names of the interfaces enslaved to the bridge."""
    return [
        link.get_attr("IFLA_IFNAME")
        for link in ipr.get_links()
        if link.get_attr("IFLA_MASTER") == bridge_index
    ]


def has_netnsid(ipr: Any, path: Path) -> bool:
    """The namespace at ``path`` has an id in ``ipr``'s namespace (see the module docstring)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        answer = ipr.get_netnsid(fd=fd)
    except NetlinkError:
        return False
    finally:
        os.close(fd)
    nsid = answer.get("nsid") if answer else None
    return nsid is not None and 0 <= nsid < 0x7FFFFFFF


def configure_pod_side(
    ipr: Any,
    *,
    host_veth: str,
    node_ns_fd: int,
    address: str,
    prefixlen: int,
    gateway: str,
    mac: str,
) -> None:
    """Inside a new pod namespace: ``lo`` up, a veth whose ``eth0`` end stays here (with the
    pod address, up, default route via the gateway) and whose other end, ``host_veth``, is
    created directly in the node's namespace (``node_ns_fd``).

    A fresh namespace has ``lo`` at index 1 and usually nothing else, so ``eth0`` asks for
    index 2 and no lookups are needed (each netlink round trip costs about half a
    millisecond through pyroute2); if a module made another default device, the kernel
    picks the index instead."""
    ipr.link("set", index=LOOPBACK_IFINDEX, state="up")
    veth = {
        "ifname": "eth0",
        "kind": "veth",
        "address": mac,
        "peer": {"ifname": host_veth, "net_ns_fd": node_ns_fd},
    }
    try:
        ipr.link("add", index=POD_IFINDEX, **veth)
        eth0: int | None = POD_IFINDEX
    except NetlinkError as err:
        if err.code not in (errno.EBUSY, errno.EEXIST) or link_index(ipr, "eth0") is not None:
            raise
        ipr.link("add", **veth)
        eth0 = link_index(ipr, "eth0")
    if eth0 is None:
        raise OSError(errno.ENODEV, "eth0 missing after creation", host_veth)
    ipr.addr("add", index=eth0, address=address, prefixlen=prefixlen)
    ipr.link("set", index=eth0, state="up")
    ipr.route("add", dst="0.0.0.0/0", gateway=gateway)


def netns_inode(path: Path) -> int | None:
    """The inode of the namespace mounted at ``path`` (what ``/proc/<pid>/ns/net`` shows)."""
    try:
        return os.stat(path).st_ino if is_netns(path) else None
    except OSError:
        return None


def netns_in_use(inode: int) -> bool:
    """Some process still lives in the network namespace ``inode``."""
    wanted = f"net:[{inode}]"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/ns/net") == wanted:
                return True
        except OSError:
            continue
    return False


def write_sysctl(name: str, value: str) -> bool:
    """Write ``/proc/sys/<name>`` (dots or slashes) for the calling thread's namespace;
    False when the key does not exist (module not loaded)."""
    path = Path("/proc/sys") / name.replace(".", "/")
    try:
        path.write_text(value)
    except FileNotFoundError:
        return False
    return True
