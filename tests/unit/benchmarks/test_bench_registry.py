"""Choosing scenarios: anchors come along, groups keep registry order, availability."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from benchmarks import registry
from benchmarks.env import Env
from benchmarks.model import Sample
from benchmarks.registry import LoadProbe, Probe, Scenario, groups, select


def _setup(env: Env, stack: ExitStack) -> Probe:
    return LoadProbe(lambda seconds: Sample(value=1.0))


def _s(name: str, group: str, *, anchor: str | None = None, family: str = "f") -> Scenario:
    return Scenario(
        name=name, family=family, what=name, unit="rps", group=group, setup=_setup, anchor=anchor
    )


ALL = [
    _s("http-direct", "http", family="http"),
    _s("http-nginx", "http", anchor="http-direct", family="http"),
    _s("dns-dnsmasq", "dns", family="dns"),
    _s("dns-unbound", "dns", anchor="dns-dnsmasq", family="dns"),
    _s("proxy-user", "http", anchor="http-nginx", family="proxy"),
    _s("proxy-nft", "netns", anchor="netns-direct", family="proxy"),  # anchor not registered
]


def _names(scenarios: list[Scenario]) -> list[str]:
    return [s.name for s in scenarios]


@pytest.mark.parametrize(
    ("asked", "chosen", "unknown"),
    [
        pytest.param([], _names(ALL), [], id="nothing-means-everything"),
        pytest.param(["http-direct"], ["http-direct"], [], id="anchor-alone"),
        pytest.param(["dns-unbound"], ["dns-dnsmasq", "dns-unbound"], [], id="anchor-comes-along"),
        pytest.param(
            ["proxy-user"],
            ["http-direct", "http-nginx", "proxy-user"],
            [],
            id="anchors-of-anchors",
        ),
        pytest.param(
            ["proxy"],
            ["http-direct", "http-nginx", "proxy-user", "proxy-nft"],
            [],
            id="by-family",
        ),
        pytest.param(["dns"], ["dns-dnsmasq", "dns-unbound"], [], id="by-group"),
        pytest.param(["dns", "nope"], ["dns-dnsmasq", "dns-unbound"], ["nope"], id="unknown"),
    ],
)
def test_select(asked: list[str], chosen: list[str], unknown: list[str]) -> None:
    got, missing = select(ALL, asked)
    assert _names(got) == chosen
    assert missing == unknown


def test_groups_keep_registry_order() -> None:
    assert [_names(g) for g in groups(ALL)] == [
        ["http-direct", "http-nginx", "proxy-user"],
        ["dns-dnsmasq", "dns-unbound"],
        ["proxy-nft"],
    ]


def test_component_without_setup_is_not_yet_available() -> None:
    planned = Scenario(name="x", family="f", what="w", unit="s", group="g", issue=7)
    availability = planned.available()
    assert availability.status == "unavailable"
    assert "issue #7" in availability.reason


def test_missing_tool_skips_with_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("benchmarks.tools.find", lambda command: None)
    scenario = Scenario(
        name="a", family="f", what="w", unit="rps", group="g", setup=_setup, requires=("wrk",)
    )
    availability = scenario.available()
    assert availability.status == "skipped"
    assert "apt-get install" in availability.reason
    assert "wrk" in availability.reason


def test_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    scenario = Scenario(
        name="n", family="f", what="w", unit="rps", group="g", setup=_setup, needs_root=True
    )
    availability = scenario.available()
    assert availability.status == "skipped"
    assert "root" in availability.reason


def test_registered_scenarios_are_complete() -> None:
    everything = registry.registered()
    names = {s.name for s in everything}
    for scenario in everything:
        assert scenario.anchor is None or scenario.anchor in names, scenario.name
    for name in ("http-direct", "dns-unbound", "iperf-haproxy-tcp", "netns-vip-dnat"):
        assert name in names
    apiserver = next(s for s in everything if s.name == "apiserver")
    assert apiserver.family == "apiserver"
    planned = [s for s in everything if s.setup is None]
    assert planned, "components not built yet are listed"
    for scenario in planned:
        assert scenario.issue is not None, scenario.name
        assert not scenario.available().ok
