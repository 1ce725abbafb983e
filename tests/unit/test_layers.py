"""Domain packages import neither gRPC, SQL, pluggy nor generated protobuf code."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"
DOMAIN_PACKAGES = ["members", "org", "auth", "pricing", "accounts", "certificates",
                   "verification"]
FORBIDDEN = ("grpc", "sqlalchemy", "asyncpg", "pluggy", "google.protobuf", "kopilka",
             "server.api", "server.db", "alembic")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_domain_code_knows_no_transport_or_storage() -> None:
    offenders = []
    for package in DOMAIN_PACKAGES:
        for path in sorted((SERVER / package).rglob("*.py")):
            for name in _imports(path):
                if name.startswith(FORBIDDEN) and not name.startswith("kopilka_"):
                    offenders.append(f"{path.relative_to(SERVER.parent)} imports {name}")
    assert offenders == []
    assert (SERVER / "members").is_dir()  # the scan really looked at something
