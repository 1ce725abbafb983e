"""`kopilka` command line: serve, migrate, demo-data, apikey (create, list, revoke, rotate);
feature commands (users, ledger, plugins...) come from server/commands/."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
import tempfile
from collections.abc import Coroutine, Sequence
from types import ModuleType
from typing import Any, TypeVar

from server.settings import Settings

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _worker_main(settings_json: str, database_url: str) -> None:
    """Entry of one worker process (spawned, so grpc is never forked)."""
    from server.app import ListenError
    from server.logs import configure_logging
    from server.runtime import serve

    settings = Settings.model_validate_json(settings_json)
    configure_logging(settings.log_level, settings.log_format)
    try:
        _run(serve(settings, database_url))
    except ListenError as exc:
        _say(f"kopilka: {exc}")
        sys.exit(1)


def _cannot_listen(listen: str) -> str | None:
    """Why `listen` cannot be bound now (taken, not this machine's), or None; checked before
    the database starts so a second `kopilka serve` says so at once, in one line."""
    import socket

    from server.settings import split_host_port

    host, port = split_host_port(listen)
    if port == 0:
        return None
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except OSError as exc:
        return str(exc)
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
            try:
                probe.bind(address)
            except OSError as exc:
                return "the port is taken" if exc.errno == errno.EADDRINUSE else str(exc)
    return None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from server.logs import configure_logging
    from server.runtime import prepare_database

    if args.workers:
        settings = settings.model_copy(update={"workers": args.workers})
    if args.demo_data:  # the development SMS channel runs when no SMSC is configured
        settings = settings.model_copy(update={"demo_mode": True})
    if settings.workers > 1:
        # Must precede the first prometheus_client import, in this process and the workers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kopilka-metrics-")
    from server.api.tls import TlsConfigError, describe, server_credentials

    try:
        server_credentials(settings)  # the workers load them again; say what is wrong once
    except TlsConfigError as exc:
        _say(f"kopilka: bad TLS configuration: {exc}")
        return 2
    for variable, listen in (("KOPILKA_GRPC_LISTEN", settings.grpc_listen),
                             ("KOPILKA_METRICS_LISTEN", settings.metrics_listen)):
        if (problem := _cannot_listen(listen)) is not None:
            _say(f"kopilka: cannot listen on {listen} ({variable}): {problem}")
            return 1
    from server.features.outbox import build_plugin_host

    try:
        build_plugin_host(settings)  # the workers build it again; say what is wrong once
    except ValueError as exc:  # a bad settings section, a refused or duplicate channel
        _say(f"kopilka: bad plugin configuration: {exc}")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    where = (
        "KOPILKA_DATABASE_URL" if settings.database_url
        else f"embedded PostgreSQL in {settings.data_dir}"
    )
    _say(f"kopilka: preparing database ({where}) ...")
    url = _run(prepare_database(settings))
    if args.demo_data:
        from server.demo import load_demo_data

        _say("kopilka: loading demo data ...")
        _say(_run(load_demo_data(url)))
    from server.runtime import serve, start_metrics_server

    try:
        metrics_port = start_metrics_server(settings, multiprocess=settings.workers > 1)
    except OSError as exc:
        _say(f"kopilka: cannot serve metrics on {settings.metrics_listen} "
             f"(KOPILKA_METRICS_LISTEN): {exc.strerror or exc}")
        return 1
    http = f", HTTP on http://{settings.http_listen}" if settings.http_listen else ""
    _say(f"kopilka: gRPC on {settings.grpc_listen} ({describe(settings)}), metrics on "
         f"http://{settings.metrics_listen.rsplit(':', 1)[0]}:{metrics_port}/metrics{http}; "
         "Ctrl-C stops")
    if settings.workers == 1:
        from server.app import ListenError

        try:
            _run(serve(settings, url))
        except ListenError as exc:
            _say(f"kopilka: {exc}")
            return 1
        return 0
    return _serve_workers(settings, url)


def _serve_workers(settings: Settings, url: str) -> int:
    import multiprocessing
    import signal

    if settings.grpc_listen.endswith(":0"):
        _say("kopilka: --workers needs a fixed port in KOPILKA_GRPC_LISTEN")
        return 2
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker_main, args=(settings.model_dump_json(), url))
             for _ in range(settings.workers)]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.pid and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for proc in procs:
        proc.join()
    return max((p.exitcode or 0) for p in procs)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from server.runtime import prepare_database

    _say("kopilka: migrating ...")
    _run(prepare_database(settings))
    _say("kopilka: database is at the newest schema")
    return 0


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from server.demo import load_demo_data
    from server.runtime import prepare_database

    url = _run(prepare_database(settings))
    _say(_run(load_demo_data(url)))
    return 0


def cmd_apikey_create(settings: Settings, args: argparse.Namespace) -> int:
    import datetime as dt

    from kopilka.v1 import admin_pb2

    from server.api.servicers.admin import create_key_once
    from server.audit.actor import acting, cli_actor
    from server.commands._shared import answers_sealer, cli_principal_id, new_request_id
    from server.db.database import Database
    from server.errors import DomainError
    from server.runtime import prepare_database

    kinds = {"terminal": admin_pb2.PRINCIPAL_KIND_TERMINAL,
             "store_backend": admin_pb2.PRINCIPAL_KIND_STORE_BACKEND,
             "operator": admin_pb2.PRINCIPAL_KIND_OPERATOR,
             "integrator": admin_pb2.PRINCIPAL_KIND_INTEGRATOR}
    request = admin_pb2.CreateApiKeyRequest(
        request_id=new_request_id(), name=args.name, kind=kinds[args.kind], roles=args.role,
        store_code=args.store or "", terminal_id=args.terminal or "",
        network_code=args.network or "")
    url = _run(prepare_database(settings))
    actor = cli_actor()

    async def create() -> admin_pb2.CreateApiKeyResponse:
        db = Database(url, pool_size=1)
        try:
            with acting(actor, request.request_id):  # the RPC's path: once, audited
                return await create_key_once(db, request, await answers_sealer(db),
                                             dt.datetime.now(dt.UTC),
                                             principal_id=cli_principal_id(actor.label))
        finally:
            await db.dispose()

    try:
        made = _run(create())
    except DomainError as exc:
        _say(f"kopilka: cannot create key: {exc.message}")
        return 2
    _say(f"kopilka: key {made.key_id} created for {args.kind}:{args.name}; the secret is "
         "shown once:")
    print(made.secret)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="kopilka", description="Kopilka loyalty, pricing and gift-certificate server. "
        "Configuration comes from KOPILKA_* environment variables (see README).",
    )
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC server (embedded PostgreSQL by default)")
    serve.add_argument("--workers", type=int, default=0, help="processes sharing the port")
    serve.add_argument("--demo-data", action="store_true", help="load demo data first")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate)
    sub.add_parser("demo-data", help="load a demo store network, catalog and members"
                   ).set_defaults(func=cmd_demo_data)
    apikey = sub.add_parser("apikey", help="manage API keys")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True)
    create = apikey_sub.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--name", required=True)
    create.add_argument("--kind", required=True, choices=["terminal", "store_backend", "operator",
                                                          "integrator"])
    create.add_argument("--role", action="append", required=True,
                        help="role to grant (repeatable): cashier, store_backend, operator, "
                        "integrator, admin or one made with `kopilka roles apply`")
    create.add_argument("--store", help="store code (terminal and store_backend keys)")
    create.add_argument("--terminal", help="terminal id (terminal keys)")
    create.add_argument("--network", help="store network code: the key acts for that "
                        "network's stores (neither --store nor --network: all stores)")
    create.set_defaults(func=cmd_apikey_create)
    from server.commands._apikeys import register_apikey

    register_apikey(apikey_sub)
    for module in _command_modules():
        module.register(sub)
    return root


def _command_modules() -> list[ModuleType]:
    """Feature commands: every module in server/commands/ with `register(subparsers)`.

    Each subcommand sets `func(settings, args) -> int`, like the built-in ones above.
    """
    import importlib
    import pkgutil

    import server.commands

    return [
        importlib.import_module(f"server.commands.{info.name}")
        for info in sorted(pkgutil.iter_modules(server.commands.__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: name the bad variable
        _say(f"kopilka: bad configuration: {exc}")
        return 2
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
