"""IPAM: which address comes next (pure), and the one-file-per-address store."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import pytest

from kubesvc.node.sandbox.ipam import Ipam, IpamExhausted, choose, reserved_addresses

A = ipaddress.IPv4Address


@pytest.mark.parametrize(
    ("cidr", "taken", "last", "expected"),
    [
        pytest.param("10.244.0.0/24", [], None, "10.244.0.2", id="first-skips-network-and-gateway"),
        pytest.param("10.244.0.0/24", ["10.244.0.2"], None, "10.244.0.3", id="skips-taken"),
        pytest.param(
            "10.244.0.0/24", [], "10.244.0.7", "10.244.0.8", id="continues-after-last-allocated"
        ),
        pytest.param(
            "10.244.0.0/24",
            ["10.244.0.4"],
            "10.244.0.3",
            "10.244.0.5",
            id="after-last-skipping-taken",
        ),
        pytest.param(
            "10.244.0.0/24", [], "10.244.0.254", "10.244.0.2", id="wraps-past-broadcast-and-gateway"
        ),
        pytest.param(
            "10.244.0.0/24",
            ["10.244.0.2", "10.244.0.3"],
            "10.244.0.254",
            "10.244.0.4",
            id="wraps-and-skips-taken",
        ),
        pytest.param(
            "10.244.0.0/24", [], "10.9.9.9", "10.244.0.2", id="last-outside-range-ignored"
        ),
        pytest.param("10.244.0.0/30", ["10.244.0.2"], None, None, id="full-range-returns-none"),
        pytest.param("127.1.0.0/16", [], None, "127.1.0.2", id="loopback-skips-x.0.0-and-x.0.1"),
        pytest.param("127.0.0.0/8", [], None, "127.0.0.2", id="never-127.0.0.1"),
        pytest.param(
            "127.0.0.0/8", [], "127.255.255.254", "127.0.0.2", id="wrap-in-127/8-skips-127.0.0.1"
        ),
        pytest.param("10.244.0.5/24", [], None, "10.244.0.2", id="host-bits-in-cidr-tolerated"),
    ],
)
def test_choose(cidr: str, taken: list[str], last: str | None, expected: str | None) -> None:
    got = choose(cidr, [A(t) for t in taken], A(last) if last else None)
    assert (str(got) if got else None) == expected


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        pytest.param(
            "10.244.0.0/24",
            {"10.244.0.0", "10.244.0.1", "10.244.0.255", "127.0.0.1"},
            id="netns-network-gateway-broadcast",
        ),
        pytest.param(
            "127.1.0.0/16",
            {"127.1.0.0", "127.1.0.1", "127.1.255.255", "127.0.0.1"},
            id="loopback",
        ),
    ],
)
def test_reserved(cidr: str, expected: set[str]) -> None:
    assert {str(a) for a in reserved_addresses(cidr)} == expected


def test_allocate_persists_and_is_idempotent(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path / "ipam", "10.244.0.0/24")
    a = ipam.allocate("uid-a")
    b = ipam.allocate("uid-b")
    assert (a, b) == ("10.244.0.2", "10.244.0.3")
    assert ipam.allocate("uid-a") == a
    # a restarted agent (new instance, same directory) sees the same allocations
    again = Ipam(tmp_path / "ipam", "10.244.0.0/24")
    assert again.allocated() == {a: "uid-a", b: "uid-b"}
    assert again.owner(b) == "uid-b"
    assert again.owner("10.244.0.9") is None
    assert (tmp_path / "ipam" / a).read_text() == "uid-a"


def test_release_frees_and_next_continues_after_last(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path, "10.244.0.0/24")
    a = ipam.allocate("uid-a")
    ipam.allocate("uid-b")
    assert ipam.release("uid-a") == [a]
    assert ipam.owner(a) is None
    assert ipam.release("uid-a") == []
    # host-local style: the freed address is not handed out again at once
    assert Ipam(tmp_path, "10.244.0.0/24").allocate("uid-c") == "10.244.0.4"


def test_claim_skips_addresses_taken_by_another_process(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path, "10.244.0.0/24")
    # another agent claimed .2 behind this one's back
    (tmp_path / "10.244.0.2").write_text("someone-else")
    assert ipam.claim("uid-a") == "10.244.0.3"
    assert ipam.owner("10.244.0.2") == "someone-else"


def test_reuse_keeps_a_recorded_address(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path, "10.244.0.0/24")
    ip = ipam.claim("uid-a")
    assert ipam.reuse("uid-a", ip) == ip
    assert ipam.reuse("uid-b", ip) != ip  # not its address: a new one


def test_exhaustion(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path, "10.244.0.0/29")  # .2 .. .6
    for i in range(5):
        ipam.allocate(f"uid-{i}")
    with pytest.raises(IpamExhausted):
        ipam.allocate("one-too-many")


def test_other_ranges_and_stray_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "127.1.0.2").write_text("loopback-pod")
    (tmp_path / "notes.txt").write_text("x")
    ipam = Ipam(tmp_path, "10.244.0.0/24")
    assert ipam.allocated() == {}
    ipam.allocate("uid-a")
    assert ipam.release_all() == ["10.244.0.2"]
    assert (tmp_path / "127.1.0.2").exists()


def test_concurrent_claims_never_share_an_address(tmp_path: Path) -> None:
    ipams = [Ipam(tmp_path, "10.244.0.0/24") for _ in range(8)]
    results: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for j in range(10):
            ip = ipams[i].claim(f"uid-{i}-{j}")
            with lock:
                results.append(ip)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    assert len(set(results)) == 80
    assert len(Ipam(tmp_path, "10.244.0.0/24").allocated()) == 80
