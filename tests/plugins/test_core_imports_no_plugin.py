"""The server depends on no plugin: plugins import `server.plugin_api`, never the reverse.

Built-ins are found through the ``kopilka.plugins`` entry points like third-party plugins,
so no module under server/ may import the ``plugins`` package, statically or by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).parents[2] / "server"
DYNAMIC = {"import_module", "__import__"}


def _is_plugins(name: str) -> bool:
    return name == "plugins" or name.startswith("plugins.")


def plugin_imports(root: Path) -> list[str]:
    """`file:line name` for every import of `plugins` in the modules under `root`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]  # relative imports stay inside server/
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if called in DYNAMIC and isinstance(first, ast.Constant) \
                        and isinstance(first.value, str):
                    names = [first.value]
            found += [f"{path.relative_to(root)}:{node.lineno} {name}"  # type: ignore[attr-defined]
                      for name in names if _is_plugins(name)]
    return found


def test_no_server_module_imports_a_plugin() -> None:
    assert plugin_imports(SERVER) == []


def test_a_planted_plugin_import_is_caught(tmp_path: Path) -> None:
    """Each way of reaching a plugin is reported; look-alikes are not."""
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "onec.py").write_text(
        "from plugins.onec import OneCExchange\n"
        "import plugins\n"
        "import importlib\n"
        "def f():\n"
        "    import plugins.smpp.channel as ch\n"
        "    return importlib.import_module('plugins.email')\n")
    (tmp_path / "fine.py").write_text(
        "from server.plugin_api import hookimpl\n"
        "from .plugins_view import x\n"
        "import plugins_extra\n"
        "from server.plugin_host import PluginHost\n")
    assert plugin_imports(tmp_path) == [
        "features/onec.py:1 plugins.onec",
        "features/onec.py:2 plugins",
        "features/onec.py:5 plugins.smpp.channel",
        "features/onec.py:6 plugins.email",
    ]
