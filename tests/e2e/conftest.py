"""The kubectl tests' fixture ``k``: a kubectl bound to a fresh namespace of the session server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import ApiProcess
from tests.e2e.kubectl_helpers import Kubectl, namespaced_kubectl


@pytest.fixture
def k(api_process: ApiProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Kubectl]:
    with namespaced_kubectl(
        api_process.kubeconfig, tmp_path, request.node.name, api_process.url
    ) as kubectl:
        yield kubectl
