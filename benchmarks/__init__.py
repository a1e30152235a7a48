"""kubesvc's benchmark runner: kubesvc measured beside the tools users would pick instead.

Every performance figure of this project is a ratio to an anchor (nginx, HAProxy, dnsmasq,
Unbound, iperf3 over loopback, the kernel's DNAT path) measured in the same run, on the same
machine, alternating system and anchor, never an absolute number from a noisy shared machine.

Layout:

- ``registry``: the scenario contract (``Scenario``, ``Probe``), the registry and the pure
  selection/grouping of what to run; ``scenarios/`` registers one module per family.
- ``runner``: runs groups of scenarios (warm-up, N rounds alternating, busy-machine guard).
- ``stats``, ``parsers``, ``guard``, ``report``, ``configs``: pure functions over plain data.
- ``procs``, ``readiness``, ``servers``, ``loadgen``, ``namespaces``, ``tools``, ``machine``:
  the thin I/O edges (subprocesses, /proc, network namespaces).

Run it as ``python -m benchmarks run [scenario...] [--quick] [--list]``; see README.md here.
"""
