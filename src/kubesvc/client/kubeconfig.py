"""Where the API is and how to talk to it: kubeconfig files and in-cluster settings.

``ClientConfig`` is the one frozen result every way of configuring a client
ends in. It holds the server URL, the default namespace and the credentials
(certificate authority, client certificate and key, bearer token or token
file); ``ssl_context()`` builds the TLS context for ``https`` servers.

Sources, in the order ``load_config`` tries them (clientcmd's order, with the
in-cluster fallback last as ``rest.InClusterConfig`` users expect):

1. an explicit kubeconfig path;
2. ``$KUBECONFIG``: a list of files (``os.pathsep``-separated) merged with
   kubectl's rules (the first file to set a value wins; missing files skipped);
3. ``~/.kube/config`` when it exists;
4. the in-cluster service account (``KUBERNETES_SERVICE_HOST``/``_PORT`` and
   the token, ``ca.crt`` and ``namespace`` files).

Relative file paths inside a kubeconfig are relative to that file's folder.
``parse_kubeconfig`` and ``merge_kubeconfigs`` are pure; only the ``load_*``
functions and ``ssl_context``/``bearer_token`` touch files.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubesvc.client.errors import ConfigError

logger = logging.getLogger(__name__)

Doc = dict[str, Any]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where the kubelet mounts a pod's service account token, CA and namespace."""

_FILE_FIELDS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How to reach one API server as one user (secrets are kept out of ``repr``)."""

    server: str
    """Base URL without a trailing slash, e.g. ``https://127.0.0.1:6443``."""
    namespace: str = "default"
    """The namespace of the current context: where namespaced calls go by default."""
    certificate_authority: str = ""
    certificate_authority_data: bytes = field(default=b"", repr=False)
    client_certificate: str = ""
    client_certificate_data: bytes = field(default=b"", repr=False)
    client_key: str = ""
    client_key_data: bytes = field(default=b"", repr=False)
    token: str = field(default="", repr=False)
    token_file: str = ""
    """Read again on use: projected service account tokens rotate."""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str = ""
    """The name to verify the server's certificate against, if not the URL's host."""

    @property
    def is_https(self) -> bool:
        return self.server.lower().startswith("https://")

    def bearer_token(self) -> str:
        """The token to send, read from ``token_file`` when one is set."""
        if self.token_file:
            try:
                return Path(self.token_file).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read token file {self.token_file}: {exc}") from exc
        return self.token

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for an ``https`` server, ``None`` for plain ``http``.

        A configured certificate authority replaces the system's roots, as in
        client-go. Key material given as ``-data`` passes through a private
        temporary folder because ``ssl`` only loads certificate chains from files.
        """
        if not self.is_https:
            return None
        try:
            if self.certificate_authority or self.certificate_authority_data:
                ctx = ssl.create_default_context(
                    cafile=self.certificate_authority or None,
                    cadata=self.certificate_authority_data.decode() or None,
                )
            else:
                ctx = ssl.create_default_context()
            if self.insecure_skip_tls_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._load_client_certificate(ctx)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError(f"cannot set up TLS for {self.server}: {exc}") from exc
        return ctx

    def _load_client_certificate(self, ctx: ssl.SSLContext) -> None:
        has_cert = bool(self.client_certificate or self.client_certificate_data)
        has_key = bool(self.client_key or self.client_key_data)
        if not has_cert and not has_key:
            return
        if has_cert != has_key:
            raise ConfigError("a client certificate needs both a certificate and a key")
        if self.client_certificate and self.client_key:
            ctx.load_cert_chain(self.client_certificate, self.client_key)
            return
        with tempfile.TemporaryDirectory(prefix="kubesvc-tls-") as tmp:
            cert = self.client_certificate or _write_private(
                Path(tmp, "client.crt"), self.client_certificate_data
            )
            key = self.client_key or _write_private(Path(tmp, "client.key"), self.client_key_data)
            ctx.load_cert_chain(cert, key)


def _write_private(path: Path, data: bytes) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return str(path)


# -- kubeconfig documents (pure) ----------------------------------------------


def _named(doc: Mapping[str, Any], section: str) -> list[Doc]:
    entries = doc.get(section) or []
    if not isinstance(entries, list):
        raise ConfigError(f"kubeconfig: {section} must be a list")
    return [e for e in entries if isinstance(e, dict) and e.get("name")]


def absolutize(doc: Mapping[str, Any], base_dir: Path) -> Doc:
    """A copy of ``doc`` whose relative file paths are resolved against ``base_dir``."""
    out: Doc = dict(doc)
    for section, inner in (("clusters", "cluster"), ("users", "user")):
        entries = []
        for entry in _named(doc, section):
            body = dict(entry.get(inner) or {})
            for key in _FILE_FIELDS[inner]:
                value = body.get(key)
                if isinstance(value, str) and value and not os.path.isabs(value):
                    body[key] = str(base_dir / os.path.expanduser(value))
            entries.append({**entry, inner: body})
        out[section] = entries
    return out


def merge_kubeconfigs(docs: Sequence[Mapping[str, Any]]) -> Doc:
    """kubectl's merge of several files: the first to set a value (or name) wins."""
    merged: Doc = {"clusters": [], "users": [], "contexts": [], "current-context": ""}
    for doc in docs:
        if not merged["current-context"] and doc.get("current-context"):
            merged["current-context"] = str(doc["current-context"])
        for section in ("clusters", "users", "contexts"):
            seen = {e["name"] for e in merged[section]}
            merged[section] += [e for e in _named(doc, section) if e["name"] not in seen]
    return merged


def _find(doc: Mapping[str, Any], section: str, name: str) -> Doc | None:
    for entry in _named(doc, section):
        if entry["name"] == name:
            return entry
    return None


def _data(value: Any, what: str) -> bytes:
    if not value:
        return b""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"kubeconfig: {what} is not valid base64") from exc


def _server_url(server: str) -> str:
    server = server.strip().rstrip("/")
    if "://" not in server:
        server = "https://" + server  # client-go's default scheme
    return server


def parse_kubeconfig(doc: Mapping[str, Any], context: str = "") -> ClientConfig:
    """The ``ClientConfig`` of ``context`` (default: ``current-context``) in ``doc``.

    File paths are taken as they are: call ``absolutize`` first for a document
    read from disk.
    """
    name = context or str(doc.get("current-context") or "")
    if not name:
        raise ConfigError("kubeconfig: current-context is not set")
    ctx_entry = _find(doc, "contexts", name)
    if ctx_entry is None:
        raise ConfigError(f'kubeconfig: context "{name}" does not exist')
    ctx = ctx_entry.get("context") or {}
    cluster_name = str(ctx.get("cluster") or "")
    cluster_entry = _find(doc, "clusters", cluster_name)
    if cluster_entry is None:
        raise ConfigError(f'kubeconfig: cluster "{cluster_name}" of context "{name}" not found')
    cluster = cluster_entry.get("cluster") or {}
    user: Doc = {}
    user_name = str(ctx.get("user") or "")
    if user_name:
        user_entry = _find(doc, "users", user_name)
        if user_entry is None:
            raise ConfigError(f'kubeconfig: user "{user_name}" of context "{name}" not found')
        user = user_entry.get("user") or {}
    if not cluster.get("server"):
        raise ConfigError(f'kubeconfig: cluster "{cluster_name}" has no server')
    for unsupported in ("exec", "auth-provider", "username"):
        if user.get(unsupported):
            logger.warning("kubeconfig credential kind not supported kind=%s", unsupported)
    return ClientConfig(
        server=_server_url(str(cluster["server"])),
        namespace=str(ctx.get("namespace") or "default"),
        certificate_authority=str(cluster.get("certificate-authority") or ""),
        certificate_authority_data=_data(
            cluster.get("certificate-authority-data"), "certificate-authority-data"
        ),
        client_certificate=str(user.get("client-certificate") or ""),
        client_certificate_data=_data(
            user.get("client-certificate-data"), "client-certificate-data"
        ),
        client_key=str(user.get("client-key") or ""),
        client_key_data=_data(user.get("client-key-data"), "client-key-data"),
        token=str(user.get("token") or ""),
        token_file=str(user.get("tokenFile") or ""),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=str(cluster.get("tls-server-name") or ""),
    )


# -- loading (files and environment) -------------------------------------------


def kubeconfig_paths(env: Mapping[str, str]) -> list[Path]:
    """The files ``$KUBECONFIG`` names, else ``~/.kube/config``."""
    listed = [Path(p) for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [Path(env.get("HOME") or Path.home()) / ".kube" / "config"]


def _read(path: Path) -> Doc:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    return absolutize(doc, path.resolve().parent)


def load_kubeconfig(paths: Path | Sequence[Path], context: str = "") -> ClientConfig:
    """Read, merge and parse kubeconfig files; files that do not exist are skipped."""
    if isinstance(paths, Path):
        paths = [paths]
    docs = [_read(p) for p in paths if p.exists()]
    if not docs:
        raise ConfigError("no kubeconfig found in " + ", ".join(str(p) for p in paths))
    return parse_kubeconfig(merge_kubeconfigs(docs), context)


def in_cluster_config(
    env: Mapping[str, str] | None = None, root: Path = SERVICE_ACCOUNT_DIR
) -> ClientConfig:
    """The config of a pod: the API's Service address and the mounted service account."""
    env = os.environ if env is None else env
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    port = env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError(
            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
            "must be set"
        )
    token = root / "token"
    if not token.is_file():
        raise ConfigError(f"not running in a cluster: no service account token at {token}")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    ns_file = root / "namespace"
    namespace = ns_file.read_text().strip() if ns_file.is_file() else ""
    ca = root / "ca.crt"
    return ClientConfig(
        server=f"https://{host}:{port}",
        namespace=namespace or "default",
        certificate_authority=str(ca) if ca.is_file() else "",
        token_file=str(token),
    )


def load_config(
    path: Path | None = None,
    *,
    context: str = "",
    env: Mapping[str, str] | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> ClientConfig:
    """The client configuration, from the first source that exists (module docstring)."""
    env = os.environ if env is None else env
    if path is not None:
        if not path.exists():
            raise ConfigError(f"kubeconfig {path} does not exist")
        return load_kubeconfig(path, context)
    if env.get("KUBECONFIG"):
        return load_kubeconfig(kubeconfig_paths(env), context)
    default = kubeconfig_paths(env)[0]
    if default.exists():
        return load_kubeconfig(default, context)
    return in_cluster_config(env, service_account_dir)
