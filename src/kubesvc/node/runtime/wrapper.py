"""The wrapper a container's command runs under, and what its statuses and signals mean.

A container is ``/bin/sh -c WRAPPER sh ARGV...``: a tiny shell script that runs
``ARGV`` as its child and writes the child's status (a number, as a shell
reports it: 128+N for signal N) to fd 0, which the agent opens on the exit
file; that is how an exit code outlives an agent restart, and why a wrapper
running as another user needs no access to the state directory.

The wrapper traps TERM, INT, HUP and QUIT with a command (``:``), which the
command does not inherit (trapped signals revert to their default in a
subshell and on exec), so SIGTERM to the group ends the command while the
wrapper lives on to record 143. In the moment between the fork and the exec
the signal would be caught and lost, hence ``term_reaches_command``. The
wrapper's own complaints go to /dev/null ("Terminated" is no part of a
container's log); the command's stderr goes to the log. SIGKILL to the group
ends the wrapper too: a parent agent sees signal 9 from ``waitpid``, an
adopting one finds an empty exit file once the process is gone; both report
(and record) 137 (``exit_status``).

Everything here is a pure decision over plain values, kept apart from the
runtime so that each is tested as a table.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass

from kubesvc.node.runtime.base import ExitStatus

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""What a container gets when its env has no PATH (Docker's default for images without one)."""
WRAPPER = (
    "exec 3>&2 2>/dev/null; "
    "trap : TERM INT HUP QUIT; "
    '(exec "$@") </dev/null 2>&3 3>&-; '
    's=$?; echo "$s" >&0; exit "$s"'
)
"""Run ``$@`` (stdin /dev/null, stderr the log), write its status to fd 0 (the exit file)."""
KILLED = 128 + signal.SIGKILL
TERM_BIT = 1 << (signal.SIGTERM - 1)


def wrapper_argv(shell: str, argv: Sequence[str]) -> list[str]:
    """The wrapper's command line: ``$0`` is ``sh``, ``$@`` the container's argv."""
    return [shell, "-c", WRAPPER, "sh", *argv]


def container_env(env: dict[str, str]) -> dict[str, str]:
    """The container's environment: as given, with a default PATH when it has none."""
    out = dict(env)
    out.setdefault("PATH", DEFAULT_PATH)
    return out


def exit_status(
    recorded: int | None, waited: int | None, oom: bool, finished_at: float
) -> ExitStatus:
    """The status to report.

    ``recorded``: what the wrapper wrote (the command's status); ``waited``: the
    wrapper's own status from waitpid (``Popen.returncode``: negative for a
    signal), when this agent is its parent. Neither: the process vanished while
    no agent watched it, and no wrapper recorded why; only SIGKILL does that.
    """
    sig = 0
    if recorded is not None:
        code = recorded
    elif waited is not None:
        code = 128 - waited if waited < 0 else waited
    else:
        code = KILLED
    if 128 < code < 128 + 65:
        sig = code - 128
    if code == 0:
        reason = "Completed"
    elif oom:
        reason = "OOMKilled"
    else:
        reason = "Error"
    return ExitStatus(exit_code=code, signal=sig, finished_at=finished_at, reason=reason)


@dataclass(frozen=True)
class Signals:
    """What /proc shows of a process's signal handling."""

    exe: str
    caught: int
    """SigCgt: bit N-1 for each signal N with a handler."""


def term_reaches_command(wrapper: Signals | None, child: Signals | None) -> bool:
    """Whether SIGTERM sent to the container's group now reaches its command.

    The wrapper traps TERM and then forks the command; the forked shell keeps
    the wrapper's handlers until it resets them just before exec. A SIGTERM
    arriving in between is swallowed and the command never sees it. Reading the
    wrapper's state and then signalling is a race (it may trap and fork in
    between), so only the child's state counts, and it only moves forward: safe
    once the child has no TERM handler (reset, or exec'd) or is another program
    (exec'd, with handlers of its own), or when the wrapper is gone. A command
    that is the same shell with a TERM trap of its own looks unsettled: ``stop``
    sends after ``SETTLE_SECONDS`` anyway.
    """
    if wrapper is None:
        return True
    if child is None:
        return False
    return child.exe != wrapper.exe or not child.caught & TERM_BIT
