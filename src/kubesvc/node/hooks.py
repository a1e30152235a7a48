"""Lifecycle hooks: running a container's ``postStart`` or ``preStop`` handler.

A handler is one of ``exec`` (through the runtime's exec), ``httpGet`` (the
probe runner's request, with ``User-Agent: kube-lifecycle/1.32``) or ``sleep``
(``seconds``). As kubelet: an exec hook fails on a non-zero exit, an httpGet
hook only when the request itself fails (the status code does not matter), a
sleep hook when the ``timeout`` (what is left of the grace period, for
preStop) ends it early; ``tcpSocket`` is accepted by the API but cannot run.

``run_handler`` returns ``(ok, message)``; on failure ``message`` is kubelet's
text, which the pod worker records as a Warning event with reason
``FailedPostStartHook`` or ``FailedPreStopHook``. A failed postStart hook makes
kubelet kill the container; a failed preStop hook changes nothing but the event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubesvc.api.errors import go_quote
from kubesvc.node.probes import check
from kubesvc.node.probes.spec import EXEC, HTTP_GET, ProbeSpec
from kubesvc.util.clock import Clock, RealClock

FAILED_POST_START_HOOK = "FailedPostStartHook"
FAILED_PRE_STOP_HOOK = "FailedPreStopHook"
POST_START_HOOK_ERROR = "PostStartHookError"
"""The terminated reason of a container killed because its postStart hook failed."""


def pod_ref(pod: Mapping[str, Any] | None) -> str:
    """How kubelet names a pod in messages: ``name_namespace(uid)``."""
    meta = (pod or {}).get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def _go_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + " ".join(items) + "]"


async def run_handler(
    handler: Mapping[str, Any],
    *,
    pod_ip: str,
    container: Mapping[str, Any],
    exec_fn: check.ExecFn | None,
    timeout: float,  # noqa: ASYNC109 - the hook's time budget, handed on to exec/HTTP as data
    pod: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
) -> tuple[bool, str]:
    """Run one lifecycle handler of ``container``; ``(True, "")`` or ``(False, message)``."""
    where = (
        f"for Container {go_quote(str(container.get('name', '')))} in Pod {go_quote(pod_ref(pod))}"
    )
    sleep = handler.get("sleep")
    if isinstance(sleep, Mapping):
        seconds = sleep.get("seconds")
        secs = seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else 0
        await (clock or RealClock()).sleep(min(float(secs), timeout))
        if secs > timeout:
            return False, (
                f"Sleep lifecycle hook ({secs}) {where} failed - error: "
                "container terminated before sleep hook finished"
            )
        return True, ""
    spec = dataclasses.replace(ProbeSpec.parse(handler, container), timeout=timeout)
    if spec.kind == EXEC:
        return await _exec(spec, where, exec_fn)
    if spec.kind == HTTP_GET:
        if spec.port_error:
            answer: tuple[int, bytes] | str = spec.port_error
        else:
            answer = await check.http_request(spec, pod_ip, user_agent=check.LIFECYCLE_USER_AGENT)
        if isinstance(answer, str):
            return False, (
                f"HTTP lifecycle hook ({handler[HTTP_GET].get('path', '')}) {where} "
                f"failed - error: {answer}"
            )
        return True, ""
    return False, f"Cannot run handler: invalid handler: {dict(handler)}"


async def _exec(spec: ProbeSpec, where: str, exec_fn: check.ExecFn | None) -> tuple[bool, str]:
    command = spec.command
    prefix = f"Exec lifecycle hook ({_go_list(command)}) {where} failed - error: "
    if exec_fn is None or not command:
        return False, prefix + 'exec is not available, message: ""'
    try:
        res = await exec_fn(command, spec.timeout)
    except Exception as exc:
        return False, prefix + f'{str(exc) or type(exc).__name__}, message: ""'
    output = res.output[: check.MAX_BODY].decode("utf-8", "replace")
    joined = " ".join(command)
    if res.timed_out:
        return False, prefix + f"command '{joined}' timed out, message: {go_quote(output)}"
    if res.exit_code != 0:
        return False, (
            prefix + f"command '{joined}' exited with {res.exit_code}: , "
            f"message: {go_quote(output)}"
        )
    return True, ""
