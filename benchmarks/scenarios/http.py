"""HTTP anchors: wrk against an nginx backend, directly and through nginx or HAProxy.

The backend is nginx answering ``200 ok`` with one worker; every proxy runs on the same core as
the backend, so each proxy row is "proxy plus backend on one core", the same handicap for the
anchors and for kubesvc's proxies later. The ``-close`` rows send ``Connection: close``, so
every request opens a new connection: where user-space proxies lose most.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from benchmarks import loadgen, servers
from benchmarks.env import Env
from benchmarks.registry import LoadProbe, Probe, Scenario, register

GROUP = "http"
WRK = ("wrk", "taskset")
REQUIRES = ("nginx", *WRK)


def backend(env: Env) -> servers.Server:
    """The group's shared nginx backend (also for component scenarios in this group)."""
    return env.fixture("http-backend", lambda e, s: servers.nginx_backend(e, s))


def _haproxy_tcp(env: Env) -> servers.Server:
    return env.fixture("http-haproxy-tcp", lambda e, s: servers.haproxy(e, s, "tcp", backend(e)))


def wrk_probe(env: Env, server: servers.Server, *, close: bool = False) -> LoadProbe:
    """wrk against ``server`` (keep-alive, or a new connection per request when ``close``)."""
    url = f"http://{server.address}/"
    return LoadProbe(lambda seconds: loadgen.wrk(env, url, seconds, close=close))


def _direct(close: bool) -> Callable[[Env, ExitStack], Probe]:
    return lambda env, stack: wrk_probe(env, backend(env), close=close)


def _nginx_proxy(env: Env, stack: ExitStack) -> Probe:
    return wrk_probe(env, servers.nginx_proxy(env, stack, backend(env)))


def _haproxy_http(env: Env, stack: ExitStack) -> Probe:
    return wrk_probe(env, servers.haproxy(env, stack, "http", backend(env)))


def _via_haproxy_tcp(close: bool) -> Callable[[Env, ExitStack], Probe]:
    return lambda env, stack: wrk_probe(env, _haproxy_tcp(env), close=close)


CLOSE = " [Connection: close]"

register(
    Scenario(
        name="http-direct",
        family="http",
        what='nginx backend direct (return 200 "ok", 1 worker)',
        unit="rps",
        group=GROUP,
        setup=_direct(close=False),
        requires=REQUIRES,
    ),
    Scenario(
        name="http-nginx-proxy",
        family="http",
        what="nginx reverse proxy, upstream keepalive 64",
        unit="rps",
        group=GROUP,
        setup=_nginx_proxy,
        anchor="http-direct",
        requires=REQUIRES,
    ),
    Scenario(
        name="http-haproxy-http",
        family="http",
        what="HAProxy mode http (nbthread 1, http-reuse always)",
        unit="rps",
        group=GROUP,
        setup=_haproxy_http,
        anchor="http-direct",
        requires=(*REQUIRES, "haproxy"),
    ),
    Scenario(
        name="http-haproxy-tcp",
        family="http",
        what="HAProxy mode tcp (L4, nbthread 1)",
        unit="rps",
        group=GROUP,
        setup=_via_haproxy_tcp(close=False),
        anchor="http-direct",
        requires=(*REQUIRES, "haproxy"),
    ),
    Scenario(
        name="http-direct-close",
        family="http",
        what='nginx backend direct (return 200 "ok")' + CLOSE,
        unit="rps",
        group=GROUP,
        setup=_direct(close=True),
        requires=REQUIRES,
    ),
    Scenario(
        name="http-haproxy-tcp-close",
        family="http",
        what="HAProxy mode tcp (L4)" + CLOSE,
        unit="rps",
        group=GROUP,
        setup=_via_haproxy_tcp(close=True),
        anchor="http-direct-close",
        requires=(*REQUIRES, "haproxy"),
    ),
)
