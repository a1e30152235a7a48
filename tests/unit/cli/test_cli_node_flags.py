"""The node flags of ``up`` and ``node``: what they turn into, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.cli.main import _node_settings, _parser, main
from kubesvc.node.settings import LOOPBACK


@pytest.mark.parametrize("command", ["up", "node"])
def test_flags_become_node_settings(command: str, tmp_path: Path) -> None:
    args = _parser().parse_args(
        [
            command,
            "--node-name",
            "n1",
            "--network-mode",
            "loopback",
            "--pod-cidr",
            "10.9.0.0/24",
            "--crashloop-backoff",
            "0.5,4",
            "--cluster-dns",
            "10.96.0.10",
            "--cluster-domain",
            "example.internal.",
            "--node-lease-duration",
            "8",
        ]
    )
    settings = _node_settings(args, tmp_path)
    assert settings.node_name == "n1"
    assert settings.network_mode == LOOPBACK
    assert settings.pod_cidr == "10.9.0.0/24"
    assert (settings.crashloop_backoff_base, settings.crashloop_backoff_cap) == (0.5, 4.0)
    assert settings.lease_duration_seconds == 8
    assert settings.cluster_dns == ("10.96.0.10",)
    assert settings.cluster_domain == "example.internal"
    assert settings.state_dir == tmp_path / "node" / "n1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["node", "--network-mode", "loopback", "--crashloop-backoff", "fast"],
            "--crashloop-backoff wants BASE,CAP in seconds, not 'fast'",
            id="bad-backoff",
        ),
        pytest.param(
            ["node", "--network-mode", "loopback", "--cluster-dns", "kube-dns"],
            "--cluster-dns wants an IP address, not 'kube-dns'",
            id="cluster-dns-not-an-ip",
        ),
        pytest.param(
            ["up", "--network-mode", "loopback", "--crashloop-backoff", "1"],
            "--crashloop-backoff wants BASE,CAP in seconds, not '1'",
            id="backoff-without-cap",
        ),
    ],
)
def test_bad_values_get_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {message}"


def test_a_non_number_grace_period_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["up", "--node-monitor-grace-period", "soon"])
    assert "'soon' is not a number of seconds" in capsys.readouterr().err
