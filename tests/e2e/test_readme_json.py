"""The README's "JSON over HTTP for web shops" block, run as written (curl and jq) against
`kopilka serve --demo-data` with KOPILKA_HTTP_LISTEN set."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.e2e.test_cli_serve import KOPILKA, Output, wait_serving
from tests.ports import idle_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## JSON over HTTP for web shops"
README_HTTP = "127.0.0.1:8081"


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```sh\n(.*?)```", text[start:end if end > 0 else None], re.S)


def test_the_readme_json_order_runs_as_written_on_the_demo() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="kopilka-readme-json-"))
    target, http = f"127.0.0.1:{idle_port()}", f"127.0.0.1:{idle_port()}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("KOPILKA_DATABASE_URL", "XDG_RUNTIME_DIR", "KOPILKA_API_KEY")}
    env.update(KOPILKA_DATA_DIR=str(data_dir), KOPILKA_GRPC_LISTEN=target,
               KOPILKA_METRICS_LISTEN="127.0.0.1:0", KOPILKA_LOG_FORMAT="text",
               KOPILKA_HTTP_LISTEN=http)
    server = subprocess.Popen([KOPILKA, "serve", "--demo-data"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    output = Output(server.stderr)
    try:
        wait_serving(target, server)
        output.wait_for(r"kpk_demo_cashier .*")
        blocks = readme_blocks()
        assert len(blocks) == 1 and README_HTTP in blocks[0]
        script = "set -euo pipefail\n" + blocks[0].replace(README_HTTP, http)
        shell = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
        assert shell.returncode == 0, f"{shell.stdout}\n{shell.stderr}"
        lines = shell.stdout.strip().splitlines()
        assert lines[0].startswith("order ") and len(lines[0]) == len("order ") + 36
        assert lines[1:] == ["ORDER_STATE_PLACED", "ORDER_STATE_CONFIRMED",
                             "ORDER_STATE_COMPLETED", "aborted"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert "Traceback" not in output.text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
