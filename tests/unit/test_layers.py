"""Domain packages import neither gRPC, SQL, pluggy nor generated protobuf code.

Every package under server/ is domain code except the adapters and the wiring named in
ADAPTERS, so a new bounded context is guarded the day it is created. Relative imports are
resolved against the importing module, so `from ..db import models` is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "server"
# Packages that translate at the edges or wire things together; everything else is domain.
ADAPTERS = frozenset({"api", "db", "commands", "features", "console", "survey_pages"})
FORBIDDEN = ("grpc", "sqlalchemy", "asyncpg", "pluggy", "google.protobuf", "kopilka",
             "server.api", "server.db", "server.features", "server.commands", "alembic",
             "aiohttp")


def domain_packages(server: Path = SERVER) -> list[Path]:
    return sorted(p for p in server.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and p.name not in ADAPTERS)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of the modules `path` imports, relative imports resolved."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                anchor = ".".join(base)
                target = f"{anchor}.{node.module}" if node.module else anchor
                names.add(target)
                if not node.module:  # from .. import db: each name is a module
                    names |= {f"{anchor}.{alias.name}" for alias in node.names}
            elif node.module:
                names.add(node.module)
    return names


def offenders(server: Path = SERVER, root: Path = ROOT) -> list[str]:
    found = []
    for package in domain_packages(server):
        for path in sorted(package.rglob("*.py")):
            for name in sorted(imports_of(path, root)):
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN) \
                        and not name.startswith("kopilka_"):
                    found.append(f"{path.relative_to(root)} imports {name}")
    return found


def test_domain_code_knows_no_transport_or_storage() -> None:
    assert offenders() == []
    scanned = {p.name for p in domain_packages()}
    assert {"members", "pricing", "outbox", "receipts", "security"} <= scanned


def test_the_guard_catches_a_planted_violation(tmp_path: Path) -> None:
    server = tmp_path / "server"
    for package in ("pricing", "db"):
        (server / package).mkdir(parents=True)
        (server / package / "__init__.py").write_text("")
    (server / "__init__.py").write_text("")
    (server / "pricing" / "relative.py").write_text("from ..db.models import Base\n")
    (server / "pricing" / "parent.py").write_text("from .. import db\n")
    (server / "pricing" / "absolute.py").write_text("import sqlalchemy.orm\n")
    (server / "pricing" / "fine.py").write_text("from . import relative\nimport dataclasses\n")
    (server / "db" / "allowed.py").write_text("import sqlalchemy\n")
    assert offenders(server, tmp_path) == [
        "server/pricing/absolute.py imports sqlalchemy.orm",
        "server/pricing/parent.py imports server.db",
        "server/pricing/relative.py imports server.db.models",
    ]
