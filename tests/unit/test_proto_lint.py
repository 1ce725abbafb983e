"""The proto contract passes Buf lint (STANDARD + COMMENTS: every element documented)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.ci import tool_missing

ROOT = Path(__file__).resolve().parents[2]


def _buf() -> str | None:
    venv = ROOT / os.environ.get("KOPILKA_VENV", ".venv")
    local = venv / "node" / "node_modules" / ".bin" / "buf"
    return str(local) if local.exists() else shutil.which("buf")


def test_proto_passes_buf_lint() -> None:
    buf = _buf()
    if buf is None:
        tool_missing("buf", "./dev test installs it with npm")
    result = subprocess.run([buf, "lint"], cwd=ROOT / "proto", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
