"""The committed generated client code must match proto/ exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--out",
                    str(tmp_path)], check=True)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*_pb2*.py*")}
    committed_dir = ROOT / "clients"
    committed = {
        p.relative_to(committed_dir): p.read_bytes()
        for p in (committed_dir / "kopilka").rglob("*_pb2*.py*")
    }
    assert sorted(fresh) == sorted(committed), "run: python scripts/gen_proto.py"
    stale = [str(name) for name, body in fresh.items() if committed[name] != body]
    assert not stale, f"stale generated files {stale}; run: python scripts/gen_proto.py"
