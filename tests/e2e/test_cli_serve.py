"""`kopilka serve` as a user runs it: embedded PostgreSQL, demo data, workers, SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kopilka.v1 import admin_pb2, admin_pb2_grpc

from tests.ports import idle_port

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


def test_serve_with_embedded_postgres_demo_data_and_two_workers() -> None:
    data_dir = tempfile.mkdtemp(prefix="kopilka-serve-test-")
    # the test polls the port before the server listens: keep it out of the ephemeral range
    port, metrics_port = idle_port(), idle_port()
    env = {k: v for k, v in os.environ.items() if k != "KOPILKA_DATABASE_URL"}
    env.update(KOPILKA_DATA_DIR=data_dir, KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN=f"127.0.0.1:{metrics_port}", KOPILKA_LOG_FORMAT="json")
    process = subprocess.Popen([KOPILKA, "serve", "--demo-data", "--workers", "2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        target = f"127.0.0.1:{port}"
        wait_serving(target, process)
        principals = set()
        for _ in range(6):  # new connections spread over both workers' sockets
            with grpc.insecure_channel(target) as channel:
                reply = admin_pb2_grpc.AdminServiceStub(channel).Echo(
                    admin_pb2.EchoRequest(payload=b"ping"), timeout=5,
                    metadata=(("authorization", "Bearer kpk_demo_cashier"),))
                assert reply.payload == b"ping"
                principals.add(reply.principal)
        assert principals == {"terminal:demo till 1"}
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                      timeout=5).read().decode()
        echo = [x for x in body.splitlines() if x.startswith("grpc_server_handled_total")
                and 'grpc_method="Echo"' in x]
        assert len(echo) == 1 and echo[0].endswith(" 6.0"), echo  # summed over workers
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        _, stderr = process.communicate()
        assert "demo data:" in stderr and "kpk_demo_cashier" in stderr
        assert '"message": "shutting down"' in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_the_1c_exchange_refuses_several_workers(tmp_path) -> None:
    """Its sessions live in one process: the user is told how to run it instead."""
    env = dict(os.environ, KOPILKA_HTTP_LISTEN="127.0.0.1:0", KOPILKA_DATA_DIR=str(tmp_path))
    done = subprocess.run([KOPILKA, "serve", "--workers", "2"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "--workers 1" in done.stderr and "KOPILKA_HTTP_LISTEN" in done.stderr
