"""Hook specifications stay documented, prefixed and free of server dependencies."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pluggy
import pytest

from server import plugin_api as hookspecs

SPEC_NAMES = sorted(
    name for name, obj in vars(hookspecs).items()
    if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT_NAME}_spec")
)
SERVER_DIR = Path(hookspecs.__file__).parent


def test_the_expected_hooks_are_specified() -> None:
    assert SPEC_NAMES == [
        "kopilka_catalog_exchanges", "kopilka_message_channels", "kopilka_on_event",
        "kopilka_payment_providers", "kopilka_scanner_sources", "kopilka_shipment_providers",
    ]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_hookspec_is_documented(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert doc and len(doc) > 20, f"hookspec {name} needs a docstring"


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_hookspec_is_prefixed_and_sync(name: str) -> None:
    function = getattr(hookspecs, name)
    assert name.startswith("kopilka_")
    assert not inspect.iscoroutinefunction(function), "pluggy never awaits hooks"


def test_an_undocumented_hookspec_would_be_caught() -> None:
    """The documentation check above can fail: a bare hookspec has no docstring."""
    marker = pluggy.HookspecMarker(hookspecs.PROJECT_NAME)

    @marker
    def kopilka_undocumented(settings: object) -> list[object]: ...

    assert inspect.getdoc(kopilka_undocumented) is None


@pytest.mark.parametrize("module", ["plugin_api.py", "plugin_contracts.py"])
def test_the_plugin_api_imports_no_server_stack(module: str) -> None:
    """Plugins import the API: it must not drag in gRPC, SQL or the rest of the server."""
    tree = ast.parse((SERVER_DIR / module).read_text())
    imported = {alias.name for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    outside = imported - {"server.plugin_contracts"}
    assert not {name.split(".")[0] for name in outside} & {
        "grpc", "sqlalchemy", "asyncpg", "server", "google", "plugins"}
