"""The kubectl tests' fixture ``k``: a kubectl bound to a fresh namespace of a server.

By default that server is the session's ``kubesvc server``. A module that needs
``kubesvc up`` (controllers, and a node agent unless told otherwise) sets
``UP_ARGS`` to the extra flags of ``up``; it then gets one ``up`` process of
its own (``up_process``), shared by its tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import ApiProcess, start_server, stop_server
from tests.e2e.kubectl_helpers import Kubectl, namespaced_kubectl


@pytest.fixture(scope="module")
def up_process(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ApiProcess]:
    args = tuple(getattr(request.module, "UP_ARGS", ()))
    server = start_server(tmp_path_factory.mktemp("kubesvc-up"), *args, command="up")
    yield server
    stop_server(server.proc)


@pytest.fixture
def k(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Kubectl]:
    uses_up = getattr(request.module, "UP_ARGS", None) is not None
    server: ApiProcess = request.getfixturevalue("up_process" if uses_up else "api_process")
    with namespaced_kubectl(server.kubeconfig, tmp_path, request.node.name, server.url) as kubectl:
        yield kubectl
