"""``--service-cluster-ip-range`` and ``--service-node-port-range`` on ``up`` and ``server``."""

from __future__ import annotations

import pytest

from kubesvc.cli.main import _parser, main


@pytest.mark.parametrize("command", ["up", "server"])
def test_defaults(command: str) -> None:
    args = _parser().parse_args([command])
    assert args.service_cluster_ip_range == "10.96.0.0/12"
    assert args.service_node_port_range == "30000-32767"


@pytest.mark.parametrize("command", ["up", "server"])
def test_values_are_passed_through(command: str) -> None:
    args = _parser().parse_args(
        [
            command,
            "--service-cluster-ip-range",
            "127.96.0.0/16",
            "--service-node-port-range",
            "10000-40000",
        ]
    )
    assert args.service_cluster_ip_range == "127.96.0.0/16"
    assert args.service_node_port_range == "10000-40000"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        pytest.param(
            "--service-cluster-ip-range",
            "fd00::/112",
            'invalid --service-cluster-ip-range "fd00::/112": kubesvc serves IPv4 only',
            id="ipv6-range",
        ),
        pytest.param(
            "--service-cluster-ip-range",
            "10.0.0.0/8",
            "specified --service-cluster-ip-range is too large",
            id="too-large",
        ),
        pytest.param(
            "--service-node-port-range",
            "32767-30000",
            "end port cannot be less than start port: 32767-30000",
            id="reversed-ports",
        ),
    ],
)
def test_bad_values_exit_with_one_line(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["server", flag, value])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
