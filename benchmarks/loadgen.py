"""Drive benchmarks/loadgen (a Go gRPC client) from a Python benchmark.

The benchmark serializes its requests beforehand; the Go client only sends bytes, so the
load costs the machine a fraction of what a Python grpc.aio client does and the server under
test keeps the CPU (pgbench's C client is just as light on the database side).

It builds with Debian's Go and grpc-go packages in GOPATH mode (this machine reaches no Go
module proxy): `apt-get install golang-go golang-google-grpc-dev`, done here when run as root.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent / "loadgen"


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured, over its measured window only."""

    done: int
    elapsed: float
    client_cpu_us: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed


GOPATH = "/usr/share/gocode"  # where Debian's golang-*-dev packages put their sources
BINARY = HERE / "loadgen"


def _install_go() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("the load generator needs Go and grpc-go: run "
                         "`sudo apt-get install golang-go golang-google-grpc-dev`")
    print("installing golang-go and golang-google-grpc-dev (apt, once)...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "golang-go", "golang-google-grpc-dev"],
                   check=True, stdout=subprocess.DEVNULL)


def ensure_built() -> Path:
    """The load generator binary, built from main.go when missing or stale."""
    source = HERE / "main.go"
    if BINARY.exists() and BINARY.stat().st_mtime >= source.stat().st_mtime:
        return BINARY
    if not shutil.which("go") or not Path(GOPATH, "src/google.golang.org/grpc").is_dir():
        _install_go()
    print("building benchmarks/loadgen (go build, once)...", file=sys.stderr)
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH,
               GOCACHE=os.environ.get("GOCACHE", str(Path(tempfile.gettempdir(), "gocache"))))
    subprocess.run(["go", "build", "-o", str(BINARY), "."], cwd=HERE, env=env, check=True)
    return BINARY


def run_load(target: str, method: str, api_key: str, requests: Sequence[bytes], *,
             concurrency: int, channels: int, warmup: float, seconds: float,
             on_window: Callable[[str], None] | None = None) -> LoadResult:
    """Send each request once (at most) with `concurrency` calls in flight; `on_window` is
    called with "start" and "end" as the measured window opens and closes (to sample the
    server's CPU). Fails on any error or if the requests ran out."""
    binary = ensure_built()
    with tempfile.NamedTemporaryFile("wb", suffix=".bin") as handle:
        for body in requests:
            handle.write(struct.pack(">I", len(body)) + body)
        handle.flush()
        proc = subprocess.Popen(
            [str(binary), "-target", target, "-method", method, "-requests", handle.name,
             "-key", api_key, "-concurrency", str(concurrency), "-channels", str(channels),
             "-warmup", f"{warmup}s", "-seconds", f"{seconds}s"],
            stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for mark, expected in (("start", "measuring"), ("end", "measured")):
            line = proc.stdout.readline().strip()
            if line != expected:
                proc.kill()
                raise SystemExit(f"the load generator failed: {line!r} (see its stderr)")
            if on_window:
                on_window(mark)
        report = json.loads(proc.stdout.readline())
        proc.wait()
    if report["errors"]:
        raise SystemExit(f"{report['errors']} {method} calls failed, first: "
                         f"{report['first_error']}")
    if report["ran_out"]:
        raise SystemExit("the load generator ran out of prepared requests: prepare more")
    return LoadResult(report["done"], report["elapsed"], report["cpu_us"] / max(report["done"], 1),
                      report["p50_ms"], report["p99_ms"])
