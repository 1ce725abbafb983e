"""Every error reason the server can raise is documented in proto/ERRORS.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REASON = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
RAISERS = {"DomainError", "invalid", "not_found"}


def _raised_reasons() -> set[str]:
    reasons: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in RAISERS:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and REASON.match(arg.value):
                    reasons.add(arg.value)
    return reasons


def test_every_raised_reason_is_documented() -> None:
    documented = set(re.findall(r"^\| ([A-Z0-9_]+) \|", (ROOT / "proto" / "ERRORS.md")
                                .read_text(), re.MULTILINE))
    raised = _raised_reasons()
    assert len(raised) > 30  # the scan found the reasons
    assert sorted(raised - documented) == [], "add these reasons to proto/ERRORS.md"
