"""Driving the real ``kubectl`` against the session's ``kubesvc server`` (e2e tests).

* ``Kubectl`` runs one kubectl command with ``--kubeconfig``, a ``--cache-dir``
  under the test's ``tmp_path`` and the test's namespace, from a working
  directory holding the test's manifests (so kubectl names them as written,
  ``error when creating "svc.yaml"``).
* ``WatchStream`` runs ``kubectl get -w`` as a subprocess and hands its output to
  the test as it arrives, JSON events or table lines, with deadlines instead of
  sleeps.
* ``namespaced_kubectl`` creates a namespace for one test and deletes it
  afterwards without waiting.

The server's output pipe is drained by ``tests.conftest.start_server`` itself.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

KUBECTL = shutil.which("kubectl")
requires_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

COMMAND_TIMEOUT = 30.0
EVENT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    rc: int
    out: str
    err: str

    def lines(self) -> list[str]:
        return self.out.splitlines()


class Kubectl:
    """kubectl bound to one kubeconfig, cache directory, namespace and working directory."""

    def __init__(
        self, kubeconfig: Path, workdir: Path, namespace: str, prefix: tuple[str, ...] = ()
    ) -> None:
        """``prefix`` runs kubectl through another command (``nsenter --net=...`` for a
        cluster inside a network namespace)."""
        assert KUBECTL is not None
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.cache_dir = workdir / ".kube-cache"
        self.namespace = namespace
        self.prefix = prefix

    def argv(self, args: tuple[str, ...], namespaced: bool = True) -> list[str]:
        assert KUBECTL is not None
        base = [*self.prefix, KUBECTL, "--kubeconfig", str(self.kubeconfig)]
        base += ["--cache-dir", str(self.cache_dir)]
        if namespaced and self.namespace:
            base += ["--namespace", self.namespace]
        return base + list(args)

    def run(
        self, *args: str, stdin: str | None = None, namespaced: bool = True, timeout: float = 0
    ) -> Result:
        proc = subprocess.run(
            self.argv(args, namespaced),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.workdir,
            timeout=timeout or COMMAND_TIMEOUT,
            env=_env(),
        )
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, stdin: str | None = None, namespaced: bool = True) -> str:
        """Run a command that must succeed; its stdout."""
        res = self.run(*args, stdin=stdin, namespaced=namespaced)
        assert res.rc == 0, f"kubectl {' '.join(args)} failed ({res.rc}):\n{res.err}{res.out}"
        return res.out

    def fail(self, *args: str, stdin: str | None = None, namespaced: bool = True) -> str:
        """Run a command that must fail; its stderr (kubectl's error text)."""
        res = self.run(*args, stdin=stdin, namespaced=namespaced)
        assert res.rc != 0, f"kubectl {' '.join(args)} unexpectedly succeeded:\n{res.out}"
        return res.err

    def obj(self, *args: str, namespaced: bool = True) -> dict[str, Any]:
        """``kubectl get ... -o json``, decoded."""
        data: dict[str, Any] = json.loads(
            self.ok("get", *args, "-o", "json", namespaced=namespaced)
        )
        return data

    def names(self, *args: str, namespaced: bool = True) -> list[str]:
        """``kubectl get ... -o name`` as a list (``service/web``, ...)."""
        return self.ok("get", *args, "-o", "name", namespaced=namespaced).split()

    def write(self, name: str, content: str | dict[str, Any] | list[dict[str, Any]]) -> str:
        """Write a manifest into the working directory; returns its relative name."""
        if isinstance(content, dict):
            text = yaml.safe_dump(content, sort_keys=False)
        elif isinstance(content, list):
            text = yaml.safe_dump_all(content, sort_keys=False)
        else:
            text = content
        (self.workdir / name).write_text(text)
        return name

    def watch(self, *args: str, json_events: bool = False) -> WatchStream:
        extra = ("--output-watch-events", "-o", "json") if json_events else ()
        return WatchStream(self, ("get", *args, "--watch", *extra), json_events=json_events)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
            env=_env(),
        )


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    return env


class WatchStream:
    """A running ``kubectl get --watch``; output arrives on a queue from a reader thread.

    With ``json_events`` the items are decoded watch events
    (``{"type": ..., "object": ...}``); otherwise they are output lines.
    """

    def __init__(self, k: Kubectl, args: tuple[str, ...], *, json_events: bool) -> None:
        self.proc = k.popen(*args)
        self.items: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []
        self.json_events = json_events
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        if not self.json_events:
            for line in self.proc.stdout:
                self.items.put(line.rstrip("\n"))
            return
        decoder = json.JSONDecoder()
        buf = ""
        for line in self.proc.stdout:
            buf += line
            while True:
                stripped = buf.lstrip()
                if not stripped:
                    buf = ""
                    break
                try:
                    event, end = decoder.raw_decode(stripped)
                except ValueError:
                    break
                self.items.put(event)
                buf = stripped[end:]

    def next(self, timeout: float = EVENT_TIMEOUT) -> Any:
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no watch output within {timeout}s; seen so far: {self.seen!r}; "
                f"stderr: {self._stderr()}"
            ) from None
        self.seen.append(item)
        return item

    def wait_for(self, predicate: Any, timeout: float = EVENT_TIMEOUT) -> Any:
        """The first new item for which ``predicate`` holds (earlier ones stay in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"watch output never matched; seen: {self.seen!r}")
            item = self.next(left)
            if predicate(item):
                return item

    def event(self, etype: str, name: str, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """Wait for the JSON event ``etype`` about the object ``name``."""
        found: dict[str, Any] = self.wait_for(
            lambda e: e.get("type") == etype and e["object"]["metadata"]["name"] == name, timeout
        )
        return found

    def _stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(running)"
        return self.proc.stderr.read()

    def stop(self) -> str:
        """End kubectl (it watches forever); returns whatever it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        err = self.proc.stderr.read() if self.proc.stderr is not None else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return err


_KLOG_LINE = re.compile(r"^[IWEF]\d{4} ")


def without_klog(text: str) -> str:
    """kubectl's stderr without its log lines (``W1125 20:44:52.229772 ...``)."""
    return "".join(line for line in text.splitlines(keepends=True) if not _KLOG_LINE.match(line))


class Waiter:
    """A running ``kubectl wait`` (or any watching command) whose watch request is known
    to be open: it runs with ``-v=6`` and ``ready()`` returns once kubectl logged the
    answer to its ``watch=true`` request, so changes made after that cannot be missed."""

    def __init__(self, k: Kubectl, *args: str) -> None:
        self.proc = k.popen(*args, "-v=6")
        self._watching = threading.Event()
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            if "watch=true" in line and " 200 OK " in line:
                self._watching.set()

    def ready(self, timeout: float = EVENT_TIMEOUT) -> None:
        if not self._watching.wait(timeout):
            self.proc.kill()
            raise AssertionError("kubectl never opened its watch:\n" + "".join(self._stderr))

    def finish(self, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str, str]:
        """(exit code, stdout, stderr without kubectl's log lines)."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()
        self._reader.join(timeout=5)
        return self.proc.returncode, out, without_klog("".join(self._stderr))


def namespace_name(test_name: str) -> str:
    """A valid, unique namespace name derived from the test's name."""
    base = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"{base or 'kubectl'}-{secrets.token_hex(3)}"


def _api_call(server_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server_url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=COMMAND_TIMEOUT) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextmanager
def namespaced_kubectl(
    kubeconfig: Path, tmp_path: Path, test_name: str, server_url: str
) -> Iterator[Kubectl]:
    """A ``Kubectl`` working in a fresh namespace, deleted (without waiting) afterwards.

    The namespace is made and removed over plain HTTP (no kubectl start-up cost);
    ``kubectl create -f`` of a Namespace has tests of its own.
    """
    ns = namespace_name(test_name)
    ns_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    assert _api_call(server_url, "POST", "/api/v1/namespaces", ns_obj) == 201
    try:
        yield Kubectl(kubeconfig, tmp_path, ns)
    finally:
        _api_call(server_url, "DELETE", f"/api/v1/namespaces/{ns}")


def squeeze(line: str) -> str:
    """A table line with each run of spaces made one (columns are padded by width)."""
    return " ".join(line.split())


# -- manifests -----------------------------------------------------------------------
def service(
    name: str = "web", *, app: str = "web", target: int = 8080, **labels: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app": app, **labels}},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": target}]},
    }


def pod(name: str = "web-0", *, app: str = "web", image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]},
    }


def configmap(name: str = "web-config", *, app: str = "web", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": app}},
        "data": data or {"greeting": "hello"},
    }


def _template(app: str, image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]},
    }


def deployment(
    name: str = "web", *, app: str = "web", replicas: int = 2, image: str = "nginx:1.25"
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": _template(app, image),
        },
    }


def ingress(
    name: str = "web", *, app: str = "web", path: str = "/", port: int = 80
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "web.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": port}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def the_five() -> list[dict[str, Any]]:
    """One object of each kind issue 2 names: Service, Pod, ConfigMap, Deployment, Ingress."""
    return [service(), pod(), configmap(), deployment(), ingress()]


def workload_extras(namespace: str) -> list[dict[str, Any]]:
    """Objects for the remaining short names: ep, rs, rc, ds, ev."""
    template = _template("extra", "busybox:1.36")
    return [
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "external", "labels": {"app": "extra"}},
            "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "extra-rs", "labels": {"app": "extra"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "extra"}},
                "template": template,
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": "extra-rc", "labels": {"app": "extra"}},
            "spec": {"replicas": 1, "selector": {"app": "extra"}, "template": template},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "extra-ds", "labels": {"app": "extra"}},
            "spec": {"selector": {"matchLabels": {"app": "extra"}}, "template": template},
        },
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web-0.started", "labels": {"app": "extra"}},
            "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": namespace},
            "reason": "Started",
            "message": "Started container web",
            "type": "Normal",
            "source": {"component": "e2e"},
        },
    ]
