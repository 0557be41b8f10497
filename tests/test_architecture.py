"""
The apps depend on each other one way: each may import the apps before it in
LAYERS, never those after it. The project package's shared modules (mmo/)
import no app; only the modules that put the project together do.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["players", "leaderboards", "areas", "flags", "movement", "chat"]
# mmo/ modules that assemble the apps into one project.
MMO_ASSEMBLY = {"mmo/urls.py", "mmo/asgi.py"}


def imported_apps(path: Path) -> set[str]:
    """The apps of LAYERS that a module imports, at its top or anywhere inside."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & set(LAYERS)


def modules_of(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_only_the_apps_below_it(app):
    allowed = set(LAYERS[: LAYERS.index(app) + 1])
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) - allowed)
        for path in modules_of(app)
        if imported_apps(path) - allowed
    }
    assert not wrong, f"{app} may import only {sorted(allowed)}; these import more: {wrong}"


def test_the_shared_modules_of_the_project_import_no_app():
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path))
        for path in modules_of("mmo")
        if str(path.relative_to(ROOT)) not in MMO_ASSEMBLY
        and not str(path.relative_to(ROOT)).startswith("mmo/settings/")
        and imported_apps(path)
    }
    assert not wrong, f"shared modules import apps: {wrong}"


def test_the_check_sees_a_wrong_way_import(tmp_path):
    module = tmp_path / "wrong.py"
    module.write_text("def f():\n    from movement.world import live_world\n")

    assert imported_apps(module) == {"movement"}
