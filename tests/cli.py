"""The `kopilka` command line run in-process: `server.cli.main(argv)` in a worker thread.

A `kopilka` subprocess costs seconds (interpreter, imports, connect); most tests check what
a command does, not the process, so they call main() here: in a thread (a command starts
its own event loop, as it does in a shell), with KOPILKA_DATABASE_URL set to the test's
database, stdin given (empty unless said), stdout and stderr captured, SystemExit turned
into its exit code. Nothing is left behind: the environment and the standard streams are
restored, and the commands configure no logging (only `serve` does, and `serve` is run as
a process by the tests about it).

Keep a subprocess where the test is about the process itself: a real process's exit code,
signals, `serve`, a second process racing, the README run as written.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import threading
from unittest import mock

from server.cli import main

# sys.stdout, sys.stderr and os.environ belong to the whole process: one call at a time.
_ONE_AT_A_TIME = threading.Lock()


def run(database_url: str, *args: str, stdin: str = "", out: io.StringIO | None = None,
        err: io.StringIO | None = None) -> int:
    """Exit code of `kopilka *args` on `database_url`, run in the calling thread; what it
    prints goes to `out` and `err` (given ones can be read while it runs)."""
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        raise RuntimeError("an in-process kopilka command is running already; run "
                           "concurrent commands as subprocesses")
    try:
        with mock.patch.dict(os.environ, {"KOPILKA_DATABASE_URL": database_url}), \
                mock.patch("sys.stdin", io.StringIO(stdin)), \
                contextlib.redirect_stdout(out if out is not None else io.StringIO()), \
                contextlib.redirect_stderr(err if err is not None else io.StringIO()):
            try:
                return main(list(args))
            except SystemExit as exit_:
                if exit_.code is None or isinstance(exit_.code, int):
                    return exit_.code or 0
                print(exit_.code, file=sys.stderr)  # as the interpreter does
                return 1
    finally:
        _ONE_AT_A_TIME.release()


async def kopilka(database_url: str, *args: str, stdin: str = "",
                  timeout: float = 120) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `kopilka *args` on `database_url`."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.wait_for(asyncio.to_thread(
        run, database_url, *args, stdin=stdin, out=out, err=err), timeout=timeout)
    return code, out.getvalue(), err.getvalue()
