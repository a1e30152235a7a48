"""IP and CIDR checks with Kubernetes' parsing rules and messages (pure).

Kubernetes parses addresses with ``netutils.ParseIPSloppy`` / ``ParseCIDRSloppy``
(Go 1.16's ``net.ParseIP``): IPv4 octets may carry leading zeros
(``010.001.002.003`` is ``10.1.2.3``, read as decimal), IPv6 zones (``%eth0``)
are refused. Python's ``ipaddress`` refuses leading zeros and accepts zones, so
the IPv4 part is parsed here by hand.

An IPv4-mapped IPv6 address (``::ffff:1.2.3.4``) is an IPv4 address for Go
(``To4() != nil``); ``family_of`` and the special-range checks follow that.
"""

from __future__ import annotations

import ipaddress

from kubesvc.api.errors import FieldError, invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

INVALID_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
INVALID_CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part or not part.isascii() or not part.isdigit():
            return None
        n = int(part)
        if n > 0xFF:
            return None
        value = value << 8 | n
    return ipaddress.IPv4Address(value)


def parse_ip_sloppy(text: str) -> IPAddress | None:
    """``netutils.ParseIPSloppy``: the address, or None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    v4 = _parse_ipv4(text)
    if v4 is not None:
        return v4
    if ":" not in text or "%" in text or not text.isascii():
        return None
    head, sep, tail = text.rpartition(":")
    if sep and "." in tail:
        # An embedded IPv4 tail may have leading zeros too.
        embedded = _parse_ipv4(tail)
        if embedded is None:
            return None
        text = f"{head}:{embedded}"
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def parse_cidr_sloppy(text: str) -> IPNetwork | None:
    """``netutils.ParseCIDRSloppy``: the network (host bits cleared), or None."""
    if not isinstance(text, str) or "/" not in text:
        return None
    addr, _, mask = text.partition("/")
    ip = parse_ip_sloppy(addr)
    if ip is None or not mask.isascii() or not mask.isdigit():
        return None
    bits = int(mask)
    if bits > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{bits}", strict=False)


def as_go_ip(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address Go takes it for."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def family_of(text: str) -> str:
    """``IPv4``, ``IPv6`` or ``unknown`` (the ``api.IPFamily`` of an address string)."""
    ip = parse_ip_sloppy(text)
    if ip is None:
        return "unknown"
    return "IPv4" if isinstance(as_go_ip(ip), ipaddress.IPv4Address) else "IPv6"


def is_ipv6_string(text: str) -> bool:
    """``netutils.IsIPv6String``."""
    return family_of(text) == "IPv6"


def is_valid_ip(path: str, value: str) -> list[FieldError]:
    """``validation.IsValidIP``."""
    if parse_ip_sloppy(value) is None:
        return [invalid(path, value, INVALID_IP_MSG)]
    return []


def is_valid_cidr(path: str, value: str) -> list[FieldError]:
    """``validation.IsValidCIDR``."""
    if parse_cidr_sloppy(value) is None:
        return [invalid(path, value, INVALID_CIDR_MSG)]
    return []


def validate_non_special_ip(value: str, path: str) -> list[FieldError]:
    """``ValidateNonSpecialIP``: no unspecified, loopback or link-local addresses.

    Used for external IPs and endpoint addresses, where such addresses make no sense
    or point at node-local services (metadata servers).
    """
    parsed = parse_ip_sloppy(value)
    if parsed is None:
        return [invalid(path, value, "must be a valid IP address")]
    ip = as_go_ip(parsed)
    errs: list[FieldError] = []
    if ip.is_unspecified:
        errs.append(invalid(path, value, f"may not be unspecified ({value})"))
    if ip.is_loopback:
        errs.append(invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if _is_link_local_unicast(ip):
        errs.append(
            invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if _is_link_local_multicast(ip):
        errs.append(
            invalid(
                path,
                value,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        )
    return errs


def _is_link_local_unicast(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv4Address):
        return ip in _V4_LINK_LOCAL
    return ip in _V6_LINK_LOCAL


def _is_link_local_multicast(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv4Address):
        return ip in _V4_LINK_LOCAL_MULTICAST
    packed = ip.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


_V4_LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
_V4_LINK_LOCAL_MULTICAST = ipaddress.IPv4Network("224.0.0.0/24")
_V6_LINK_LOCAL = ipaddress.IPv6Network("fe80::/10")
