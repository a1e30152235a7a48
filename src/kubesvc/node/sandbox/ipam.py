"""Pod addresses: which IP a pod gets, kept on disk so it survives agent restarts.

Two halves, as in CNI's host-local plugin:

* ``choose`` (pure): the next free address after the last one handed out,
  wrapping around the range, skipping the reserved ones. Not reusing a just
  released address at once keeps stale ARP entries and conntrack flows of a
  deleted pod from hitting its successor.
* ``Ipam`` (files): one file per allocated address under ``StateDir.ipam``,
  named by the address and holding the owner's pod UID. A file is created
  atomically with its content (written to a private temporary name, then
  ``link``ed to the final name, which fails if the name exists: the same
  guarantee as ``O_CREAT|O_EXCL`` without a window where the file is empty),
  so two agents or threads sharing the directory never hand out one address
  twice. ``.last-<network>`` remembers where ``choose`` continues.

Invariant: an address is in use exactly while its file exists; ``allocate`` is
idempotent per UID (a UID that already owns an address in the range gets it back).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

LOOPBACK_ONE = ipaddress.IPv4Address("127.0.0.1")


class IpamExhausted(Exception):
    """Every address of the range is reserved or allocated."""


def gateway_of(cidr: str) -> ipaddress.IPv4Address:
    """The first host address of ``cidr``: the bridge's address in netns mode."""
    network = ipaddress.IPv4Network(cidr, strict=False)
    return ipaddress.IPv4Address(int(network.network_address) + 1)


def reserved_addresses(cidr: str) -> frozenset[ipaddress.IPv4Address]:
    """Addresses of ``cidr`` never handed to a pod: network, broadcast, the first host address
    (the gateway in netns mode; in loopback mode the same rule keeps 127.x.0.1 free) and
    127.0.0.1, whatever the range."""
    network = ipaddress.IPv4Network(cidr, strict=False)
    if network.prefixlen >= 31:
        return frozenset({LOOPBACK_ONE})
    return frozenset(
        {network.network_address, network.broadcast_address, gateway_of(cidr), LOOPBACK_ONE}
    )


def choose(
    cidr: str,
    taken: Iterable[ipaddress.IPv4Address],
    last: ipaddress.IPv4Address | None,
    reserved: frozenset[ipaddress.IPv4Address] | None = None,
) -> ipaddress.IPv4Address | None:
    """The first address after ``last`` (wrapping) that is neither reserved nor taken;
    None when the range is full. Without ``last`` (or one outside the range) the search
    starts at the beginning of the range."""
    network = ipaddress.IPv4Network(cidr, strict=False)
    blocked = reserved_addresses(cidr) if reserved is None else reserved
    used = {int(a) for a in taken} | {int(a) for a in blocked}
    first = int(network.network_address)
    size = network.num_addresses
    start = 0
    if last is not None and last in network:
        start = int(last) - first + 1
    for step in range(size):
        candidate = first + (start + step) % size
        if candidate not in used:
            return ipaddress.IPv4Address(candidate)
    return None


class Ipam:
    """Allocations of one range, one file per address in ``directory``."""

    def __init__(self, directory: Path, cidr: str) -> None:
        self.directory = directory
        self.cidr = cidr
        self.network = ipaddress.IPv4Network(cidr, strict=False)
        self._last_file = (
            directory / f".last-{self.network.network_address}-{self.network.prefixlen}"
        )

    def allocated(self) -> dict[str, str]:
        """Every allocated address of this range -> its owner's pod UID."""
        result: dict[str, str] = {}
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return result
        for name in names:
            try:
                address = ipaddress.IPv4Address(name)
            except ValueError:
                continue
            if address not in self.network:
                continue
            owner = self._read(self.directory / name)
            if owner is not None:
                result[name] = owner
        return result

    def _taken(self) -> list[ipaddress.IPv4Address]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        taken = []
        for name in names:
            try:
                taken.append(ipaddress.IPv4Address(name))
            except ValueError:
                continue
        return taken

    def owner(self, ip: str) -> str | None:
        """The pod UID owning ``ip``, None if it is free."""
        return self._read(self.directory / str(ipaddress.IPv4Address(ip)))

    def address_of(self, uid: str) -> str | None:
        """The address ``uid`` owns in this range, if any."""
        for ip, owner in self.allocated().items():
            if owner == uid:
                return ip
        return None

    def allocate(self, uid: str) -> str:
        """An address for ``uid``: the one it already owns, else the next free one.
        Reads every allocation file; ``claim`` is the fast path for a UID known to be new."""
        for ip, owner in self.allocated().items():
            if owner == uid:
                return ip
        return self.claim(uid)

    def claim(self, uid: str) -> str:
        """A new address for ``uid`` (only lists the directory). A UID claiming twice owns
        two addresses until ``release``: callers record the address they got and reuse it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lost = set(self._taken())
        last = self._read_last()
        while True:
            candidate = choose(self.cidr, lost, last)
            if candidate is None:
                raise IpamExhausted(f"no free address left in {self.cidr}")
            if self._claim(candidate, uid):
                self._write_last(candidate)
                log.debug("ipam allocated ip=%s uid=%s", candidate, uid)
                return str(candidate)
            # another agent or thread took it between our listing and the claim
            lost.add(candidate)
            last = candidate

    def reuse(self, uid: str, ip: str) -> str:
        """``ip`` if ``uid`` owns it (a recorded address), else a new claim."""
        if ip and self.owner(ip) == uid:
            return ip
        return self.claim(uid)

    def release(self, uid: str) -> list[str]:
        """Free every address ``uid`` owns in this range; returns them."""
        freed = []
        for ip, owner in self.allocated().items():
            if owner == uid:
                try:
                    os.unlink(self.directory / ip)
                except FileNotFoundError:
                    continue
                freed.append(ip)
                log.debug("ipam released ip=%s uid=%s", ip, uid)
        return freed

    def release_all(self) -> list[str]:
        """Free every address of this range (``kubesvc node --cleanup``)."""
        freed = []
        for ip in self.allocated():
            try:
                os.unlink(self.directory / ip)
            except FileNotFoundError:
                continue
            freed.append(ip)
        try:
            os.unlink(self._last_file)
        except FileNotFoundError:
            pass
        return freed

    def _claim(self, address: ipaddress.IPv4Address, uid: str) -> bool:
        tmp = self.directory / f".tmp-{secrets.token_hex(8)}"
        tmp.write_text(uid)
        try:
            os.link(tmp, self.directory / str(address))
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True

    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            return None

    def _read_last(self) -> ipaddress.IPv4Address | None:
        text = self._read(self._last_file)
        if not text:
            return None
        try:
            return ipaddress.IPv4Address(text)
        except ValueError:
            return None

    def _write_last(self, address: ipaddress.IPv4Address) -> None:
        tmp = self.directory / f".tmp-{secrets.token_hex(8)}"
        tmp.write_text(str(address))
        os.replace(tmp, self._last_file)
