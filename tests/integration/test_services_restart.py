"""Allocations survive a restart (sqlite), and the repair pass fixes drift."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubesvc.apiserver.app import ApiServer, ApiServerSettings
from kubesvc.storage.registry import open_backend

SVC = "/api/v1/namespaces/default/services"
Obj = dict[str, Any]
Server = Callable[..., AbstractAsyncContextManager[tuple[ApiServer, aiohttp.ClientSession]]]


def svc(name: str, **spec: Any) -> Obj:
    body: Obj = {"selector": {"app": name}, "ports": [{"port": 80}]}
    body.update(spec)
    return {"metadata": {"name": name}, "spec": body}


@pytest.fixture
def server(tmp_path: Path) -> Server:
    @asynccontextmanager
    async def run(**settings: Any) -> AsyncIterator[tuple[ApiServer, aiohttp.ClientSession]]:
        backend = open_backend(f"sqlite:///{tmp_path / 'state.db'}")
        await backend.start()
        srv = ApiServer(backend, ApiServerSettings(port=0, **settings))
        await srv.start()
        try:
            async with aiohttp.ClientSession(base_url=srv.url) as session:
                yield srv, session
        finally:
            await srv.stop()
            await backend.close()

    return run


async def post(session: aiohttp.ClientSession, body: Obj) -> tuple[int, Obj]:
    async with session.post(SVC, json=body) as resp:
        return resp.status, await resp.json()


async def test_ips_and_ports_survive_a_restart(server: Server) -> None:
    async with server() as (_, s):
        status, web = await post(s, svc("web"))
        assert status == 201
        status, np = await post(s, svc("np", type="NodePort"))
        assert status == 201
    ip, node_port = web["spec"]["clusterIP"], np["spec"]["ports"][0]["nodePort"]
    async with server() as (srv, s):
        async with s.get(f"{SVC}/web") as resp:
            assert (await resp.json())["spec"]["clusterIP"] == ip
        assert srv.service_allocators.ips.has(ip)
        assert srv.service_allocators.ports.has(node_port)
        status, taken = await post(s, svc("copy", clusterIP=ip))
        assert status == 422
        assert taken["message"].endswith(
            f"failed to allocate IP {ip}: provided IP is already allocated"
        )
        status, taken = await post(
            s, svc("copy", type="NodePort", ports=[{"port": 80, "nodePort": node_port}])
        )
        assert status == 422
        assert taken["details"]["causes"][0]["message"] == (
            f"Invalid value: {node_port}: provided port is already allocated"
        )
        async with s.get(f"{SVC}/kubernetes") as resp:
            kube = await resp.json()
        assert kube["spec"]["clusterIP"] == "10.96.0.1"
        assert kube["spec"]["ports"][0]["targetPort"] == srv.port


async def test_a_changed_range_reports_services_outside_it(server: Server) -> None:
    async with server() as (_, s):
        status, web = await post(s, svc("web"))
        assert status == 201
    async with server(service_cluster_ip_range="10.200.0.0/16") as (srv, s):
        async with s.get(f"{SVC}/web") as resp:
            assert (await resp.json())["spec"]["clusterIP"] == web["spec"]["clusterIP"]
        findings = await srv.service_upkeep.repair.run_once()
        reasons = {f.reason for f in findings}
        assert "ClusterIPOutOfRange" in reasons
        async with s.get(
            "/api/v1/namespaces/default/events",
            params={"fieldSelector": "involvedObject.name=web"},
        ) as resp:
            events = (await resp.json())["items"]
        assert [e["reason"] for e in events] == ["ClusterIPOutOfRange"]
        assert events[0]["type"] == "Warning"
        assert events[0]["message"] == (
            f"Cluster IP [IPv4]:{web['spec']['clusterIP']} is not within the configured Service "
            "CIDR 10.200.0.0/16; please recreate service"
        )


async def test_repair_frees_leaks_and_restores_lost_allocations(server: Server) -> None:
    async with server() as (srv, s):
        status, _ = await post(s, svc("web", clusterIP="10.96.0.80"))
        assert status == 201
        ips = srv.service_allocators.ips
        ips.release("10.96.0.80")  # drift: a held IP looks free
        ips.allocate("10.96.0.81")  # drift: a free IP looks held
        repair = srv.service_upkeep.repair
        findings = await repair.run_once()
        assert [f.reason for f in findings] == ["ClusterIPNotAllocated"]
        assert ips.has("10.96.0.80")
        for _ in range(2):
            assert ips.has("10.96.0.81")
            await repair.run_once()
        assert not ips.has("10.96.0.81")
