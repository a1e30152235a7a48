"""The ``kubesvc`` command: ``up``, ``server`` and ``kubeconfig``.

Flags are declared here and nowhere else; each subcommand turns them into a
settings dataclass and hands it to ``kubesvc.runtime``. Errors a user can fix
(port in use, bad manifest, unknown storage URL) print one line and exit 1;
they never print a trace.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
from pathlib import Path

from kubesvc import __version__
from kubesvc.apiserver.app import ApiServerSettings
from kubesvc.runtime import kubeconfig, manifests, paths
from kubesvc.runtime.up import ApplyError, ServeSettings, serve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubesvc", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"kubesvc {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="cluster state directory (default: per-user data directory)",
        )
        sp.add_argument("--bind-address", default="127.0.0.1", help="API listen address")
        sp.add_argument("--port", type=int, default=6443, help="API port (0: pick a free one)")

    up = sub.add_parser(
        "up", help="start everything kubesvc has, apply manifests, run until Ctrl-C"
    )
    common(up)
    up.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help="manifest file or directory to apply once ready (repeatable)",
    )
    up.add_argument("--storage", default="", help="storage URL (default: sqlite in --data-dir)")

    server = sub.add_parser("server", help="run the API server alone")
    common(server)
    server.add_argument(
        "--storage",
        default="",
        help="storage URL: sqlite:///PATH or memory:// (default: sqlite in --data-dir)",
    )
    server.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help=argparse.SUPPRESS,
    )

    kc = sub.add_parser("kubeconfig", help="print a kubeconfig for the cluster of a data directory")
    kc.add_argument("--data-dir", type=Path, default=None)
    return p


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _run_serve(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or paths.default_data_dir()
    settings = ServeSettings(
        data_dir=data_dir,
        storage=args.storage,
        api=ApiServerSettings(bind_address=args.bind_address, port=args.port),
        manifests=list(args.filename),
    )

    def on_ready(url: str, kc: Path) -> None:
        print(
            f"kubesvc {__version__} ready: API server at {url}; "
            f"use it with: export KUBECONFIG={kc}",
            flush=True,
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop, on_ready)

    _event_loop_policy()
    try:
        asyncio.run(main())
    except manifests.ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ApplyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"error: {args.bind_address}:{args.port} is already in use; stop what listens "
                "there or pick another --port",
                file=sys.stderr,
            )
            return 1
        if exc.errno in (errno.EACCES, errno.EPERM):
            print(f"error: {exc.strerror}: {exc.filename or args.bind_address}", file=sys.stderr)
            return 1
        raise
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_kubeconfig(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or paths.default_data_dir()
    info = paths.read_server_info(data_dir)
    if info is None:
        print(
            f"error: no cluster has run in {data_dir} yet; start one with "
            f"`kubesvc up --data-dir {data_dir}`",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(kubeconfig.render(str(info["server"])))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    if args.command in ("up", "server"):
        return _run_serve(args)
    if args.command == "kubeconfig":
        return _run_kubeconfig(args)
    _parser().print_help()
    return 2
