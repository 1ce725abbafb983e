"""The README's "Payments, invoices and Nova Poshta" blocks, run as written against `kopilka serve
--demo-data` (the way tests/e2e/test_readme_sale.py runs the sale walkthrough)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e.test_cli_serve import KOPILKA, Output, wait_serving
from tests.ports import idle_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Payments, invoices and Nova Poshta"


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```sh\n(.*?)```", text[start:end if end > 0 else None], re.S)


def test_the_readme_payments_run_as_written_on_the_demo() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="kopilka-readme-payments-"))
    port = idle_port()
    target = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("KOPILKA_DATABASE_URL", "XDG_RUNTIME_DIR", "KOPILKA_API_KEY")}
    env.update(KOPILKA_DATA_DIR=str(data_dir), KOPILKA_GRPC_LISTEN=target,
               KOPILKA_METRICS_LISTEN="127.0.0.1:0", KOPILKA_LOG_FORMAT="text")
    server = subprocess.Popen([KOPILKA, "serve", "--demo-data"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    output = Output(server.stderr)
    try:
        wait_serving(target, server)
        output.wait_for(r"kpk_demo_cashier .*")
        script = "set -euo pipefail\n" + "\n".join(readme_blocks())
        shell = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                               env=dict(env, KOPILKA_TARGET=target, KOPILKA_VENV=sys.prefix),
                               timeout=120)
        assert shell.returncode == 0, f"{shell.stdout}\n{shell.stderr}"
        lines = shell.stdout.strip().splitlines()
        assert lines[:3] == ["kopilka", "1", "pending"], shell.stdout
        number, total, vat = lines[3].split()
        assert number == "KOPILKA-000001" and int(total) > 0
        assert int(vat) == (int(total) * 2 * 2000 + 12000) // 24000  # 20/120, to the kopeck
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert "Traceback" not in output.text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
