"""Container resources as the node agent reads them (pure): quantities, limits, QoS class.

* ``parse_quantity`` reads a ``resource.Quantity`` string (``128Mi``, ``500m``,
  ``1.5``, ``2e3``) into an exact ``Fraction``; ``value`` and ``milli_value``
  round up to whole units and thousandths, as Go's ``Quantity.Value()`` and
  ``MilliValue()`` do.
* ``container_limits`` turns a container's ``resources.limits`` into the
  runtime's ``Limits`` (what cgroups get).
* ``pod_qos_class`` is ``status.qosClass``: Guaranteed when every container
  (init ones too) limits both cpu and memory and requests equal limits;
  BestEffort when nothing requests or limits cpu or memory; Burstable otherwise.
  Requests missing where a limit is set count as equal to the limit, as the API
  server's defaulting makes them.
* ``resource_field_value`` is the downward API's ``resourceFieldRef``
  (``limits.cpu`` with a divisor, ...), with unset limits taken from the node's
  allocatable as kubelet does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from kubesvc.node.runtime.base import Limits

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
_QOS_RESOURCES = (CPU, MEMORY)
_ALLOCATABLE_DEFAULTED = (CPU, MEMORY, EPHEMERAL_STORAGE)

_QUANTITY = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
_DECIMAL_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")
_SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


def parse_quantity(quantity: object) -> Fraction:
    """The exact amount a quantity stands for; ``ValueError`` when it is not one.

    Numbers (a manifest's ``cpu: 1``) are read through their decimal text.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, str | int | float):
        raise ValueError(f"quantity {quantity!r} is not a string or number")
    text = str(quantity).strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    number, suffix = match.groups()
    try:
        amount = Fraction(number)
    except ValueError as err:
        raise ValueError(f"invalid quantity number: {text!r}") from err
    if suffix in _SUFFIXES:
        return amount * _SUFFIXES[suffix]
    exponent = _DECIMAL_EXPONENT.fullmatch(suffix)
    if exponent is None:
        raise ValueError(f"unable to parse quantity's suffix: {text!r}")
    return amount * Fraction(10) ** int(exponent.group(1))


def value(quantity: object) -> int:
    """``Quantity.Value()``: the amount rounded up to an integer."""
    return math.ceil(parse_quantity(quantity))


def milli_value(quantity: object) -> int:
    """``Quantity.MilliValue()``: thousandths, rounded up (``0.5`` cpu is 500)."""
    return math.ceil(parse_quantity(quantity) * 1000)


def _resource_map(container: Mapping[str, Any], which: str) -> dict[str, Any]:
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return {}
    found = resources.get(which)
    return dict(found) if isinstance(found, dict) else {}


def _positive(quantity: object) -> bool:
    try:
        return parse_quantity(quantity) > 0
    except ValueError:
        return False


def container_limits(container: Mapping[str, Any]) -> Limits:
    """The cgroup limits of a container: ``limits.memory`` in bytes, ``limits.cpu`` in millicores.

    A limit that is missing, zero or unparsable is no limit.
    """
    limits = _resource_map(container, "limits")
    memory = limits.get(MEMORY)
    cpu = limits.get(CPU)
    return Limits(
        memory_bytes=value(memory) if _positive(memory) else None,
        cpu_millis=milli_value(cpu) if _positive(cpu) else None,
    )


def effective_requests(container: Mapping[str, Any]) -> dict[str, Any]:
    """``requests`` with each limit filling a missing request (the API server's defaulting)."""
    requests = _resource_map(container, "requests")
    for name, limit in _resource_map(container, "limits").items():
        requests.setdefault(name, limit)
    return requests


def _all_containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return []
    found: list[Mapping[str, Any]] = []
    for key in ("containers", "initContainers"):
        found.extend(c for c in spec.get(key) or [] if isinstance(c, dict))
    return found


def pod_qos_class(pod: Mapping[str, Any]) -> str:
    """``status.qosClass`` of a pod, computed from its containers' cpu and memory."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in _all_containers(pod):
        for name, quantity in effective_requests(container).items():
            if name in _QOS_RESOURCES and _positive(quantity):
                requests[name] = requests.get(name, Fraction(0)) + parse_quantity(quantity)
        found: set[str] = set()
        for name, quantity in _resource_map(container, "limits").items():
            if name in _QOS_RESOURCES and _positive(quantity):
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + parse_quantity(quantity)
        if not found.issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    matching = all(limits.get(name) == amount for name, amount in requests.items())
    if guaranteed and matching and len(requests) == len(limits):
        return GUARANTEED
    return BURSTABLE


def limits_with_allocatable(
    container: Mapping[str, Any], allocatable: Mapping[str, Any]
) -> dict[str, Any]:
    """A container's limits with cpu, memory and ephemeral-storage defaulted to the node's
    allocatable where unset or zero (kubelet's ``defaultPodLimitsForDownwardAPI``)."""
    limits = _resource_map(container, "limits")
    for name in _ALLOCATABLE_DEFAULTED:
        if not _positive(limits.get(name, 0)) and name in allocatable:
            limits[name] = allocatable[name]
    return limits


def resource_field_value(
    selector: Mapping[str, Any],
    container: Mapping[str, Any],
    allocatable: Mapping[str, Any],
) -> str:
    """The text of a ``resourceFieldRef`` for ``container``; ``ValueError`` if unsupported.

    cpu values are millicores divided by the divisor's millicores, the others
    whole units divided by the divisor's; both rounded up (the divisor defaults
    to 1).
    """
    resource = str(selector.get("resource") or "")
    divisor_text = selector.get("divisor")
    divisor = parse_quantity(divisor_text) if divisor_text not in (None, "") else Fraction(0)
    if divisor <= 0:
        divisor = Fraction(1)
    which, _, name = resource.partition(".")
    if which == "limits":
        source = limits_with_allocatable(container, allocatable)
    elif which == "requests":
        source = _resource_map(container, "requests")
    else:
        raise ValueError(f"unsupported container resource : {resource}")
    if name == CPU:
        amount = milli_value(source.get(CPU, 0))
        return str(math.ceil(Fraction(amount) / math.ceil(divisor * 1000)))
    if name in (MEMORY, EPHEMERAL_STORAGE):
        amount = value(source.get(name, 0))
        return str(math.ceil(Fraction(amount) / math.ceil(divisor)))
    raise ValueError(f"unsupported container resource : {resource}")
