"""Kubeconfig parsing and merging (pure tables), the loading order, in-cluster config, TLS."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesvc.client.errors import ConfigError
from kubesvc.client.kubeconfig import (
    ClientConfig,
    absolutize,
    in_cluster_config,
    kubeconfig_paths,
    load_config,
    load_kubeconfig,
    merge_kubeconfigs,
    parse_kubeconfig,
)

B64_CA = base64.b64encode(b"CA PEM").decode()


def kc(
    *,
    current: str = "dev",
    contexts: dict[str, dict[str, Any]] | None = None,
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    contexts = {"dev": {"cluster": "local", "user": "admin"}} if contexts is None else contexts
    clusters = {"local": {"server": "https://127.0.0.1:6443"}} if clusters is None else clusters
    users = {"admin": {"token": "t0k"}} if users is None else users
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
    }


@pytest.mark.parametrize(
    ("doc", "context", "expected"),
    [
        pytest.param(
            kc(), "", ClientConfig("https://127.0.0.1:6443", token="t0k"), id="current-context"
        ),
        pytest.param(
            kc(
                contexts={
                    "dev": {"cluster": "local", "user": "admin"},
                    "ops": {"cluster": "local", "user": "admin", "namespace": "kube-system"},
                }
            ),
            "ops",
            ClientConfig("https://127.0.0.1:6443", namespace="kube-system", token="t0k"),
            id="explicit-context-and-its-namespace",
        ),
        pytest.param(
            kc(clusters={"local": {"server": "http://127.0.0.1:8080/"}}),
            "",
            ClientConfig("http://127.0.0.1:8080", token="t0k"),
            id="trailing-slash-dropped",
        ),
        pytest.param(
            kc(clusters={"local": {"server": "10.0.0.1:6443"}}),
            "",
            ClientConfig("https://10.0.0.1:6443", token="t0k"),
            id="no-scheme-means-https",
        ),
        pytest.param(
            kc(contexts={"dev": {"cluster": "local"}}),
            "",
            ClientConfig("https://127.0.0.1:6443"),
            id="context-without-user",
        ),
        pytest.param(
            kc(
                clusters={
                    "local": {
                        "server": "https://k:6443",
                        "certificate-authority-data": B64_CA,
                        "insecure-skip-tls-verify": True,
                        "tls-server-name": "kubernetes",
                    }
                },
                users={
                    "admin": {
                        "client-certificate-data": base64.b64encode(b"CERT").decode(),
                        "client-key-data": base64.b64encode(b"KEY").decode(),
                        "tokenFile": "/run/token",
                    }
                },
            ),
            "",
            ClientConfig(
                "https://k:6443",
                certificate_authority_data=b"CA PEM",
                client_certificate_data=b"CERT",
                client_key_data=b"KEY",
                token_file="/run/token",
                insecure_skip_tls_verify=True,
                tls_server_name="kubernetes",
            ),
            id="credential-data-decoded",
        ),
    ],
)
def test_parse(doc: dict[str, Any], context: str, expected: ClientConfig) -> None:
    assert parse_kubeconfig(doc, context) == expected


@pytest.mark.parametrize(
    ("doc", "context", "match"),
    [
        pytest.param(kc(current=""), "", "current-context is not set", id="no-current-context"),
        pytest.param(kc(), "nope", 'context "nope" does not exist', id="unknown-context"),
        pytest.param(kc(clusters={}), "", 'cluster "local"', id="unknown-cluster"),
        pytest.param(kc(users={}), "", 'user "admin"', id="unknown-user"),
        pytest.param(kc(clusters={"local": {}}), "", "has no server", id="no-server"),
        pytest.param(
            kc(clusters={"local": {"server": "https://x", "certificate-authority-data": "@@"}}),
            "",
            "not valid base64",
            id="bad-base64",
        ),
        pytest.param(
            {"current-context": "x", "contexts": {"x": {}}}, "", "must be a list", id="shape"
        ),
    ],
)
def test_parse_errors(doc: dict[str, Any], context: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_kubeconfig(doc, context)


def test_relative_paths_are_resolved_against_the_file_folder() -> None:
    doc = kc(
        clusters={"local": {"server": "https://x", "certificate-authority": "pki/ca.crt"}},
        users={"admin": {"client-certificate": "/abs/c.crt", "client-key": "k.key"}},
    )
    out = absolutize(doc, Path("/conf"))
    assert out["clusters"][0]["cluster"]["certificate-authority"] == "/conf/pki/ca.crt"
    assert out["users"][0]["user"] == {
        "client-certificate": "/abs/c.crt",
        "client-key": "/conf/k.key",
    }
    assert doc["clusters"][0]["cluster"]["certificate-authority"] == "pki/ca.crt", "not mutated"


def test_merge_first_file_wins_for_names_and_current_context() -> None:
    first = kc(current="", clusters={"local": {"server": "https://first"}}, users={})
    second = kc(
        current="dev",
        clusters={"local": {"server": "https://second"}, "other": {"server": "https://o"}},
    )
    merged = merge_kubeconfigs([first, second])
    assert merged["current-context"] == "dev"
    assert [c["name"] for c in merged["clusters"]] == ["local", "other"]
    assert parse_kubeconfig(merged).server == "https://first"
    assert parse_kubeconfig(merged).token == "t0k"


def test_secrets_stay_out_of_repr() -> None:
    text = repr(ClientConfig("https://x", token="s3cret", client_key_data=b"KEYDATA"))
    assert "s3cret" not in text and "KEYDATA" not in text


# -- loading ------------------------------------------------------------------------


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_kubeconfig_paths(tmp_path: Path) -> None:
    env = {"KUBECONFIG": f"{tmp_path}/a::{tmp_path}/b", "HOME": str(tmp_path)}
    assert kubeconfig_paths(env) == [tmp_path / "a", tmp_path / "b"]
    assert kubeconfig_paths({"HOME": str(tmp_path)}) == [tmp_path / ".kube" / "config"]


def test_load_merges_the_files_that_exist(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", kc(users={"admin": {"tokenFile": "tok"}}))
    b = write(tmp_path / "sub" / "b.yaml", kc(current="other"))
    config = load_kubeconfig([tmp_path / "missing.yaml", a, b])
    assert config.token_file == str(tmp_path / "tok")
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        load_kubeconfig([tmp_path / "missing.yaml"])


def test_load_rejects_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="not a mapping"):
        load_kubeconfig(tmp_path / "bad")


def service_account(root: Path, namespace: str = "team") -> Path:
    root.mkdir(parents=True)
    (root / "token").write_text("tok-1\n")
    (root / "ca.crt").write_text("CA")
    (root / "namespace").write_text(namespace)
    return root


@pytest.mark.parametrize(
    ("setup", "expected_server"),
    [
        pytest.param("explicit", "https://explicit", id="explicit-path-first"),
        pytest.param("env", "https://env", id="then-KUBECONFIG"),
        pytest.param("home", "https://home", id="then-home"),
        pytest.param("cluster", "https://10.96.0.1:443", id="then-in-cluster"),
    ],
)
def test_load_config_order(tmp_path: Path, setup: str, expected_server: str) -> None:
    home = tmp_path / "home"
    sa = service_account(tmp_path / "sa")
    env = {
        "HOME": str(home),
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
    }
    explicit = None
    order = ["explicit", "env", "home", "cluster"]
    present = order[order.index(setup) :]
    if "home" in present:
        write(home / ".kube" / "config", kc(clusters={"local": {"server": "https://home"}}))
    if "env" in present:
        env["KUBECONFIG"] = str(
            write(tmp_path / "env.yaml", kc(clusters={"local": {"server": "https://env"}}))
        )
    if "explicit" in present:
        explicit = write(
            tmp_path / "x.yaml", kc(clusters={"local": {"server": "https://explicit"}})
        )
    config = load_config(explicit, env=env, service_account_dir=sa)
    assert config.server == expected_server


def test_in_cluster_config(tmp_path: Path) -> None:
    sa = service_account(tmp_path / "sa")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    config = in_cluster_config(env, sa)
    assert config == ClientConfig(
        "https://[fd00::1]:443",
        namespace="team",
        certificate_authority=str(sa / "ca.crt"),
        token_file=str(sa / "token"),
    )
    assert config.bearer_token() == "tok-1"
    (sa / "token").write_text("tok-2")
    assert config.bearer_token() == "tok-2", "a rotated token is read again"


@pytest.mark.parametrize(
    ("env", "make_sa", "match"),
    [
        pytest.param({}, True, "KUBERNETES_SERVICE_HOST", id="no-env"),
        pytest.param(
            {"KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"},
            False,
            "no service account token",
            id="no-token",
        ),
    ],
)
def test_in_cluster_errors(tmp_path: Path, env: dict[str, str], make_sa: bool, match: str) -> None:
    sa = service_account(tmp_path / "sa") if make_sa else tmp_path / "none"
    with pytest.raises(ConfigError, match=match):
        in_cluster_config(env, sa)


def test_a_missing_token_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read token file"):
        ClientConfig("https://x", token_file=str(tmp_path / "nope")).bearer_token()


# -- TLS ------------------------------------------------------------------------------


EC_KEY = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
"""Small, fast-to-make keys."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a client certificate signed by it (made with the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("pki")

    def run(command: str) -> None:
        subprocess.run(["openssl", *command.split()], cwd=d, check=True, capture_output=True)

    run(f"req -x509 {EC_KEY} -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca")
    run(f"req {EC_KEY} -keyout client.key -out client.csr -subj /CN=admin")
    run("x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 1")
    return d


def test_plain_http_needs_no_tls() -> None:
    assert ClientConfig("http://127.0.0.1:8080").ssl_context() is None


def test_https_verifies_by_default_and_insecure_does_not() -> None:
    ctx = ClientConfig("https://x").ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    ctx = ClientConfig("https://x", insecure_skip_tls_verify=True).ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


@pytest.mark.parametrize(
    "as_data", [pytest.param(False, id="files"), pytest.param(True, id="data")]
)
def test_ca_and_client_certificate_load(pki: Path, as_data: bool) -> None:
    if as_data:
        config = ClientConfig(
            "https://x",
            certificate_authority_data=(pki / "ca.crt").read_bytes(),
            client_certificate_data=(pki / "client.crt").read_bytes(),
            client_key_data=(pki / "client.key").read_bytes(),
        )
    else:
        config = ClientConfig(
            "https://x",
            certificate_authority=str(pki / "ca.crt"),
            client_certificate=str(pki / "client.crt"),
            client_key=str(pki / "client.key"),
        )
    ctx = config.ssl_context()
    assert ctx is not None
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "test-ca"),),)]


@pytest.mark.parametrize(
    ("config", "match"),
    [
        pytest.param(
            ClientConfig("https://x", certificate_authority_data=b"not a pem"),
            "cannot set up TLS",
            id="bad-ca",
        ),
        pytest.param(
            ClientConfig("https://x", client_certificate_data=b"x"),
            "both a certificate and a key",
            id="cert-without-key",
        ),
        pytest.param(
            ClientConfig("https://x", client_certificate="/nope.crt", client_key="/nope.key"),
            "cannot set up TLS",
            id="missing-files",
        ),
    ],
)
def test_tls_errors(config: ClientConfig, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        config.ssl_context()
