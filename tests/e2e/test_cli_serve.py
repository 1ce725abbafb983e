"""`kopilka serve` as a user runs it: embedded PostgreSQL, demo data, workers, SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kopilka.v1 import admin_pb2, admin_pb2_grpc

from tests.ports import idle_port
from tests.processes import children, listening_processes, serving_processes

KOPILKA = str(Path(sys.executable).with_name("kopilka"))


def wait_serving(target: str, process: subprocess.Popen, seconds: float = 60,
                 credentials: grpc.ChannelCredentials | None = None) -> None:
    deadline = time.monotonic() + seconds
    with (grpc.insecure_channel(target) if credentials is None
          else grpc.secure_channel(target, credentials)) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the server exited early: {process.communicate()[1]}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise AssertionError("the server did not become healthy in time")


class Output:
    """A server's stderr, read as it comes (so the pipe never fills) and searchable."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, pattern: str, seconds: float = 60) -> re.Match[str]:
        """The first match of `pattern` in a line, waiting for the server to say it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + seconds
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    raise AssertionError(f"no {pattern!r} in: {''.join(self.lines)}")
                self._changed.wait(min(left, 1))

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


def wait_listening(port: int, process: subprocess.Popen, count: int = 2,
                   seconds: float = 60) -> set[int]:
    """The server's child processes once `count` of them listen on `port` (a worker that
    is still starting cannot take connections yet)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited early"
        workers = listening_processes(port, children(process.pid))
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} workers listen on {port}")


def echo(channel: grpc.Channel) -> str:
    reply = admin_pb2_grpc.AdminServiceStub(channel).Echo(
        admin_pb2.EchoRequest(payload=b"ping"), timeout=5,
        metadata=(("authorization", "Bearer kpk_demo_cashier"),))
    assert reply.payload == b"ping"
    return reply.principal


def test_serve_with_embedded_postgres_demo_data_and_two_workers() -> None:
    data_dir = tempfile.mkdtemp(prefix="kopilka-serve-test-")
    # Workers share one listening port (SO_REUSEPORT), so it is fixed before they start
    # (serve refuses :0 with --workers); the test polls it before anything listens, so it
    # is kept out of the ephemeral range. The metrics port is the kernel's pick, read from
    # the start-up line.
    port = idle_port()
    env = {k: v for k, v in os.environ.items() if k != "KOPILKA_DATABASE_URL"}
    env.update(KOPILKA_DATA_DIR=data_dir, KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN="127.0.0.1:0", KOPILKA_LOG_FORMAT="json")
    process = subprocess.Popen([KOPILKA, "serve", "--demo-data", "--workers", "2"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    output = Output(process.stderr)
    channels: list[grpc.Channel] = []
    try:
        metrics_port = int(output.wait_for(r"metrics on http://[^/]+:(\d+)/metrics")[1])
        target = f"127.0.0.1:{port}"
        wait_serving(target, process)
        workers = wait_listening(port, process)
        answered: set[int] = set()
        principals = set()
        while len(answered) < 2 and len(channels) < 40:  # the kernel spreads connections
            # its own subchannel pool: else every channel to a target shares one connection
            channels.append(grpc.insecure_channel(
                target, options=[("grpc.use_local_subchannel_pool", 1)]))
            principals.add(echo(channels[-1]))
            answered = serving_processes(port, workers)
        assert principals == {"terminal:demo till 1"}
        assert len(answered) == 2, f"{len(channels)} connections, all answered by {answered}"
        assert process.pid not in answered  # the parent only supervises
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                      timeout=5).read().decode()
        counted = [x for x in body.splitlines() if x.startswith("grpc_server_handled_total")
                   and 'grpc_method="Echo"' in x]
        assert counted == [counted[0]] and counted[0].endswith(f" {len(channels)}.0"), counted
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        stderr = output.text()
        assert "demo data:" in stderr and "kpk_demo_cashier" in stderr
        assert '"message": "shutting down"' in stderr
    finally:
        for channel in channels:
            channel.close()
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_one_process_answering_is_told_apart(app) -> None:
    """Planted: every connection answered by one process (the in-process server). The check
    above counts it once, so it cannot pass for two workers."""
    target = f"127.0.0.1:{app.grpc_port}"
    channels = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(4)]
    try:
        for channel in channels:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                            timeout=5)
        here = os.getpid()
        assert listening_processes(app.grpc_port, {here, *children(here)}) == {here}
        assert serving_processes(app.grpc_port, {here, *children(here)}) == {here}
    finally:
        for channel in channels:
            await channel.close()
