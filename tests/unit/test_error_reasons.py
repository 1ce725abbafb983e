"""Error reasons live in one registry (server/reasons.py), checked both ways.

The registry equals the table in proto/ERRORS.md (reason and gRPC code), every registered
reason is raised somewhere in server/ or plugins/, and DomainError refuses any reason the
registry lacks (or one raised with another code), so a reason built indirectly (a helper's
parameter, a conditional, a class attribute) cannot reach a client undocumented either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from server.errors import (
    REASONS,
    DomainError,
    ErrorKind,
    UnknownReasonError,
    Violations,
    invalid,
    not_found,
)

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "server" / "reasons.py"
ROW = re.compile(r"^\| ([A-Z][A-Z0-9_]*) \| ([A-Z_]+) \|", re.MULTILINE)
REASON = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
RAISERS = {"DomainError", "invalid", "not_found", "raise_if_any"}


def documented(markdown: str) -> dict[str, str]:
    """reason -> gRPC code, from the table rows of proto/ERRORS.md."""
    return dict(ROW.findall(markdown))


def registry_vs_docs(registry: Mapping[str, ErrorKind], docs: Mapping[str, str]) -> list[str]:
    """Every difference between the registry and the documented table."""
    problems = [f"{r} is not documented in proto/ERRORS.md" for r in registry if r not in docs]
    problems += [f"{r} is documented but not in server/reasons.py" for r in docs
                 if r not in registry]
    problems += [f"{r}: registered {k.value}, documented {docs[r]}" for r, k in registry.items()
                 if r in docs and docs[r] != k.value]
    return problems


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def string_literals(paths: Iterable[Path]) -> set[str]:
    """The UPPER_SNAKE string constants of the code (docstrings and comments do not count)."""
    found: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        found |= {node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in skip and REASON.match(node.value)}
    return found


def code_files(root: Path) -> list[Path]:
    """server/ and plugins/ Python files, except the registry that merely lists reasons."""
    return [path for folder in ("server", "plugins") for path in (root / folder).rglob("*.py")
            if path != root / "server" / "reasons.py"]


def unraised(registry: Iterable[str], literals: set[str]) -> list[str]:
    return sorted(set(registry) - literals)


def reasons_at_raise_sites(paths: Iterable[Path]) -> set[str]:
    """Literal reasons passed straight to DomainError and its shortcuts (a cheap early check
    of code paths no test runs; the runtime check in DomainError covers the rest)."""
    reasons: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in RAISERS:
                reasons |= {arg.value for arg in [*node.args, *(k.value for k in node.keywords)]
                            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                            and REASON.match(arg.value)}
    return reasons


# -- the rules on the real code ------------------------------------------------------------

def test_the_registry_is_what_errors_md_documents() -> None:
    docs = documented((ROOT / "proto" / "ERRORS.md").read_text())
    assert len(docs) > 50  # the table was read
    assert registry_vs_docs(REASONS, docs) == []


def test_every_registered_reason_is_raised_somewhere() -> None:
    assert unraised(REASONS, string_literals(code_files(ROOT))) == []


def test_literal_reasons_at_raise_sites_are_registered() -> None:
    raised = reasons_at_raise_sites(code_files(ROOT))
    assert len(raised) > 30  # the scan found the reasons
    assert sorted(raised - set(REASONS)) == []


def test_reasons_are_upper_snake() -> None:
    assert [r for r in REASONS if not REASON.match(r)] == []


# -- DomainError refuses what the registry lacks -------------------------------------------

def test_a_registered_reason_is_accepted() -> None:
    error = not_found("card", "2990001", "CARD_NOT_FOUND")
    assert (error.kind, error.reason) == (ErrorKind.NOT_FOUND, "CARD_NOT_FOUND")


@pytest.mark.parametrize("make", [
    lambda: DomainError(ErrorKind.NOT_FOUND, "CARD_NOT_FOUNDD", "typo"),
    lambda: invalid("store_code", "unknown", "STORE_UNKNOWN"),
    lambda: not_found("card", "1", "NO_SUCH_CARD"),
], ids=["DomainError", "invalid", "not_found"])
def test_an_unregistered_reason_is_refused_at_construction(
        make: Callable[[], DomainError]) -> None:
    with pytest.raises(UnknownReasonError, match="not registered"):
        make()


def test_an_unregistered_reason_of_collected_violations_is_refused() -> None:
    problems = Violations()
    problems.add("lines[0].sku", "empty")
    with pytest.raises(UnknownReasonError, match="INVALID_LINES"):
        problems.raise_if_any("INVALID_LINES")


def test_a_reason_raised_with_another_code_is_refused() -> None:
    with pytest.raises(UnknownReasonError, match="registered as NOT_FOUND, raised as ABORTED"):
        DomainError(ErrorKind.ABORTED, "CARD_NOT_FOUND", "wrong code")
    with pytest.raises(UnknownReasonError, match="registered as NOT_FOUND"):
        invalid("card_number", "unknown", "CARD_NOT_FOUND")  # invalid() is INVALID_ARGUMENT


# -- planted violations: each check above catches its broken rule --------------------------

def test_an_undocumented_registered_reason_is_caught() -> None:
    docs = documented((ROOT / "proto" / "ERRORS.md").read_text())
    planted = {**REASONS, "PLANTED_REASON": ErrorKind.ABORTED}
    assert registry_vs_docs(planted, docs) == [
        "PLANTED_REASON is not documented in proto/ERRORS.md"]


def test_a_documented_but_unregistered_reason_is_caught() -> None:
    markdown = (ROOT / "proto" / "ERRORS.md").read_text()
    planted = markdown + "| PLANTED_REASON | ABORTED | a row nobody registered |\n"
    assert registry_vs_docs(REASONS, documented(planted)) == [
        "PLANTED_REASON is documented but not in server/reasons.py"]


def test_a_documented_code_that_differs_is_caught() -> None:
    markdown = (ROOT / "proto" / "ERRORS.md").read_text()
    planted = markdown.replace("| CARD_NOT_FOUND | NOT_FOUND |", "| CARD_NOT_FOUND | ABORTED |")
    assert registry_vs_docs(REASONS, documented(planted)) == [
        "CARD_NOT_FOUND: registered NOT_FOUND, documented ABORTED"]


def test_a_registered_reason_nobody_raises_is_caught(tmp_path: Path) -> None:
    """A reason only named in a docstring, a comment or the registry is not raised."""
    (tmp_path / "server").mkdir()
    (tmp_path / "plugins").mkdir()
    (tmp_path / "server" / "reasons.py").write_text('REASONS = {"LONELY_REASON": 1}\n')
    (tmp_path / "server" / "cards.py").write_text(
        '"""Raises LONELY_REASON one day."""\n'
        "# LONELY_REASON too\n"
        "def block():\n"
        '    """LONELY_REASON when blocked."""\n'
        '    raise ValueError("CARD_BLOCKED_HERE")\n')
    literals = string_literals(code_files(tmp_path))
    assert literals == {"CARD_BLOCKED_HERE"}
    assert unraised(["LONELY_REASON", "CARD_BLOCKED_HERE"], literals) == ["LONELY_REASON"]


def test_a_reason_built_indirectly_counts_as_raised(tmp_path: Path) -> None:
    """A helper's argument or a conditional still names the reason as a literal."""
    (tmp_path / "server").mkdir()
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "pay.py").write_text(
        'REASON = "INSUFFICIENT_POINTS" if points else "INSUFFICIENT_FUNDS"\n')
    literals = string_literals(code_files(tmp_path))
    assert unraised(["INSUFFICIENT_POINTS", "INSUFFICIENT_FUNDS"], literals) == []
