"""The plugin contract holds: every hookspec is prefixed, sync, typed and documented with its
arguments (docstring and plugins/README.md), every built-in hookimpl matches a spec, and the
contract imports no server stack. Each check is also run on a planted bad spec or impl."""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest

from server import plugin_api as hookspecs
from server.plugin_api import hookimpl
from server.plugin_host import build_plugin_manager, builtin_plugin_names

SERVER_DIR = Path(hookspecs.__file__).parent
README = (SERVER_DIR.parent / "plugins" / "README.md").read_text()
PREFIX = f"{hookspecs.PROJECT_NAME}_"


def specs_of(module: types.ModuleType) -> dict[str, Callable[..., object]]:
    """The functions pluggy would take as hookspecs from `module` (marked by HookspecMarker)."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return {name: obj for name, obj in vars(module).items()
            if inspect.isfunction(obj) and hasattr(obj, marker)}


def spec_problems(module: types.ModuleType, readme: str) -> list[str]:
    """What is wrong with the hookspecs of `module`, documented in `readme`."""
    problems: list[str] = []
    for name, function in specs_of(module).items():
        signature = inspect.signature(function)
        doc = inspect.getdoc(function) or ""
        if not name.startswith(PREFIX):
            problems.append(f"{name}: not prefixed {PREFIX}")
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
            problems.append(f"{name}: async (pluggy never awaits a hook)")
        if len(doc) < 20:
            problems.append(f"{name}: no docstring")
        if signature.return_annotation is inspect.Signature.empty:
            problems.append(f"{name}: return type missing")
        for arg, parameter in signature.parameters.items():
            if parameter.annotation is inspect.Parameter.empty:
                problems.append(f"{name}({arg}): type missing")
            if f"``{arg}``" not in doc:
                problems.append(f"{name}({arg}): argument not documented in the docstring")
        row = f"| `{name}({', '.join(signature.parameters)})` | `{signature.return_annotation}` |"
        if row not in readme:
            problems.append(f"{name}: no row {row} in plugins/README.md")
    return problems


def impl_problems(pm: pluggy.PluginManager) -> list[str]:
    """What is wrong with the registered hookimpls: unknown hooks, async or untyped impls."""
    problems: list[str] = []
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        problems.append(str(error))
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        for caller in pm.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                where = f"{name}.{caller.name}"
                if not caller.has_spec():
                    problems.append(f"{where}: no hookspec")
                if inspect.iscoroutinefunction(impl.function):
                    problems.append(f"{where}: async (pluggy never awaits a hook)")
                if "return" not in getattr(impl.function, "__annotations__", {}):
                    problems.append(f"{where}: return type missing")
    return problems


def builtin_manager() -> pluggy.PluginManager:
    return build_plugin_manager(environ={}, load_entry_points=False)


def spec_module(source: str) -> types.ModuleType:
    """A module with hookspecs, as a plugin author might write them."""
    module = types.ModuleType("planted_hookspecs")
    header = ("from server.plugin_api import hookspec\n"
              "from server.plugin_contracts import *\n")
    exec(compile(header + textwrap.dedent(source), "<planted>", "exec"), vars(module))
    return module


GOOD_SPEC = '''
    @hookspec
    def kopilka_loyalty_rules(settings: PluginSettings) -> list[object]:
        """Return loyalty rules; ``settings`` maps plugins to their sections."""
'''
GOOD_ROW = "| `kopilka_loyalty_rules(settings)` | `list[object]` | rules |\n"


# -- the real contract ---------------------------------------------------------------------

def test_the_expected_hooks_are_specified() -> None:
    assert sorted(specs_of(hookspecs)) == [
        "kopilka_catalog_exchanges", "kopilka_message_channels", "kopilka_on_event",
        "kopilka_payment_providers", "kopilka_scanner_sources", "kopilka_shipment_providers",
    ]


def test_every_hookspec_is_prefixed_sync_typed_and_documented() -> None:
    assert spec_problems(hookspecs, README) == []


def test_pluggy_takes_every_hookspec() -> None:
    pm = builtin_manager()
    assert all(getattr(pm.hook, name).has_spec() for name in specs_of(hookspecs))


def test_every_builtin_plugin_is_registered_and_implements_a_spec() -> None:
    pm = builtin_manager()
    assert impl_problems(pm) == []
    names = builtin_plugin_names()
    assert names  # the built-ins are installed (pip install -e .)
    for name in names:
        plugin = pm.get_plugin(name)
        assert plugin is not None, name
        callers = pm.get_hookcallers(plugin) or []
        assert callers and all(caller.has_spec() for caller in callers), name


# -- planted bad specs and impls are caught ------------------------------------------------

def test_a_good_planted_spec_passes() -> None:
    assert spec_problems(spec_module(GOOD_SPEC), GOOD_ROW) == []


@pytest.mark.parametrize(("source", "problem"), [
    ('''
    @hookspec
    def kopilka_loyalty_rules(settings: PluginSettings) -> list[object]: ...
    ''', "kopilka_loyalty_rules: no docstring"),
    ('''
    @hookspec
    def loyalty_rules(settings: PluginSettings) -> list[object]:
        """Return loyalty rules; ``settings`` maps plugins to their sections."""
    ''', "loyalty_rules: not prefixed kopilka_"),
    ('''
    @hookspec
    async def kopilka_loyalty_rules(settings: PluginSettings) -> list[object]:
        """Return loyalty rules; ``settings`` maps plugins to their sections."""
    ''', "kopilka_loyalty_rules: async (pluggy never awaits a hook)"),
    ('''
    @hookspec
    def kopilka_loyalty_rules(settings) -> list[object]:
        """Return loyalty rules; ``settings`` maps plugins to their sections."""
    ''', "kopilka_loyalty_rules(settings): type missing"),
    ('''
    @hookspec
    def kopilka_loyalty_rules(settings: PluginSettings):
        """Return loyalty rules; ``settings`` maps plugins to their sections."""
    ''', "kopilka_loyalty_rules: return type missing"),
    ('''
    @hookspec
    def kopilka_loyalty_rules(settings: PluginSettings) -> list[object]:
        """Return loyalty rules from this plugin's configuration section."""
    ''', "kopilka_loyalty_rules(settings): argument not documented in the docstring"),
], ids=["undocumented", "unprefixed", "async", "untyped-argument", "untyped-return",
        "argument-undocumented"])
def test_a_planted_bad_spec_is_caught(source: str, problem: str) -> None:
    assert problem in spec_problems(spec_module(source), GOOD_ROW.replace(
        "kopilka_loyalty_rules", "loyalty_rules") + GOOD_ROW)


def test_a_spec_missing_from_the_readme_is_caught() -> None:
    assert spec_problems(spec_module(GOOD_SPEC), "") == [
        "kopilka_loyalty_rules: no row | `kopilka_loyalty_rules(settings)` | `list[object]` |"
        " in plugins/README.md"]


def test_an_impl_of_no_spec_is_caught() -> None:
    class Typo:
        @hookimpl
        def kopilka_message_channel(self, settings: object) -> list[object]:  # no "s"
            return []

    pm = builtin_manager()
    pm.register(Typo(), name="typo")
    problems = impl_problems(pm)
    assert any("kopilka_message_channel" in p and "unknown hook" in p for p in problems)
    assert "typo.kopilka_message_channel: no hookspec" in problems


def test_an_async_or_untyped_impl_is_caught() -> None:
    class Sloppy:
        @hookimpl
        async def kopilka_on_event(self, event: object) -> None:
            pass

        @hookimpl
        def kopilka_scanner_sources(self, settings):  # type: ignore[no-untyped-def]
            return []

    pm = builtin_manager()
    pm.register(Sloppy(), name="sloppy")
    assert sorted(impl_problems(pm)) == [
        "sloppy.kopilka_on_event: async (pluggy never awaits a hook)",
        "sloppy.kopilka_scanner_sources: return type missing"]


def test_an_impl_with_an_argument_the_spec_lacks_is_refused() -> None:
    class Renamed:
        @hookimpl
        def kopilka_on_event(self, evt: object) -> None:
            pass

    with pytest.raises(pluggy.PluginValidationError, match="evt"):
        builtin_manager().register(Renamed(), name="renamed")


# -- the contract stays free of the server ---------------------------------------------------

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
