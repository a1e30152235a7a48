"""``kubesvc controllers --kubeconfig FILE``: the controllers alone, against another API server."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from tests.integration.conftest import Api
from tests.integration.test_controllers_endpoints_support import (
    endpoints_view,
    make_pod,
    make_service,
    set_pod_status,
    slices_view,
    until_equal,
)

from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient
from kubesvc.runtime import kubeconfig

READY_TIMEOUT = 20.0


async def start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubesvc",
        "controllers",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_controllers_run_against_a_server_of_their_own_choosing(
    api: Api, tmp_path: Path
) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(kubeconfig.render(api.base))
    proc = await start("--kubeconfig", str(kc), "--controllers", "endpoints,endpointslice")
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        assert b"controllers ready: endpoints, endpointslice" in line, line
        async with ApiClient(ClientConfig(api.base), field_manager="test") as client:
            await make_service(client, "web", {"selector": {"app": "web"}, "ports": [{"port": 80}]})
            await make_pod(client, "a", {"app": "web"})
            await set_pod_status(client, "a", "10.244.9.1", ready=True)

            async def both() -> tuple[object, object]:
                return await endpoints_view(client, "web"), await slices_view(client, "web")

            want = ((["10.244.9.1"], []), [("10.244.9.1", True, True, False)])
            await until_equal(both, want, "endpoints written by the separate process")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--controllers", "nope"), b"error: unknown controller 'nope'", id="name"),
        pytest.param(
            ("--kubeconfig", "missing.yaml"),
            b"error: kubeconfig missing.yaml does not exist",
            id="kubeconfig",
        ),
    ],
)
async def test_mistakes_are_one_line(args: tuple[str, ...], message: bytes) -> None:
    proc = await start(*args)
    _, err = await asyncio.wait_for(proc.communicate(), READY_TIMEOUT)
    assert proc.returncode == 1
    assert err.startswith(message), err
