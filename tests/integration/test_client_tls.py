"""ApiClient over HTTPS: server verification against the configured CA, client
certificates, tls-server-name and bearer tokens, against a small TLS stub of the API."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from aiohttp import web

from kubesvc.client.errors import TLSError
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient, resolve

NS = resolve(("v1", "Namespace"))


EC_KEY = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
"""Small, fast-to-make keys."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA; a server certificate for 127.0.0.1 and "kubernetes"; a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("pki")

    def run(command: str) -> None:
        subprocess.run(["openssl", *command.split()], cwd=d, check=True, capture_output=True)

    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:kubernetes\n")
    run(f"req -x509 {EC_KEY} -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca")
    for name, cn in (("server", "apiserver"), ("client", "admin")):
        run(f"req {EC_KEY} -keyout {name}.key -out {name}.csr -subj /CN={cn}")
        ext = " -extfile server.ext" if name == "server" else ""
        run(
            f"x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            f" -out {name}.crt -days 1{ext}"
        )
    return d


@dataclass
class Stub:
    url: str
    seen: list[dict[str, str]]


@pytest.fixture
async def stub(pki: Path) -> AsyncIterator[Stub]:
    seen: list[dict[str, str]] = []

    async def namespace(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(x[0] for x in peer["subject"]) if peer else {}
        seen.append(
            {
                "client": str(subject.get("commonName", "")),
                "auth": request.headers.get("Authorization", ""),
            }
        )
        return web.json_response({"kind": "Namespace", "metadata": {"name": "default"}})

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(pki / "server.crt", pki / "server.key")
    ctx.verify_mode = ssl.CERT_OPTIONAL
    app = web.Application()
    app.router.add_get("/api/v1/namespaces/default", namespace)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield Stub(f"https://127.0.0.1:{port}", seen)
    await runner.cleanup()


async def get_default(config: ClientConfig) -> str:
    async with ApiClient(config) as client:
        ns = await client.get(NS, "", "default")
    return str(ns["metadata"]["name"])


async def test_client_certificate_and_ca_from_files(stub: Stub, pki: Path) -> None:
    config = ClientConfig(
        stub.url,
        certificate_authority=str(pki / "ca.crt"),
        client_certificate=str(pki / "client.crt"),
        client_key=str(pki / "client.key"),
    )
    assert await get_default(config) == "default"
    assert stub.seen == [{"client": "admin", "auth": ""}]


async def test_credentials_as_data_and_a_token_file(stub: Stub, pki: Path, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    config = ClientConfig(
        stub.url,
        certificate_authority_data=(pki / "ca.crt").read_bytes(),
        client_certificate_data=(pki / "client.crt").read_bytes(),
        client_key_data=(pki / "client.key").read_bytes(),
        token_file=str(token),
    )
    assert await get_default(config) == "default"
    assert stub.seen == [{"client": "admin", "auth": "Bearer s3cret"}]


async def test_an_unknown_server_certificate_is_refused(stub: Stub) -> None:
    with pytest.raises(TLSError, match="certificate"):
        await get_default(ClientConfig(stub.url))


async def test_insecure_skips_verification(stub: Stub) -> None:
    assert await get_default(ClientConfig(stub.url, insecure_skip_tls_verify=True, token="t"))
    assert stub.seen == [{"client": "", "auth": "Bearer t"}]


async def test_tls_server_name_verifies_another_name(stub: Stub, pki: Path) -> None:
    base = ClientConfig(
        stub.url.replace("127.0.0.1", "localhost"), certificate_authority=str(pki / "ca.crt")
    )
    with pytest.raises(TLSError):
        await get_default(base)  # "localhost" is not in the certificate
    assert await get_default(replace(base, tls_server_name="kubernetes")) == "default"
