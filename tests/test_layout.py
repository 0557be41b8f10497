"""Where the load tool lives: outside the server, its apps and its image."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = ("players", "areas", "flags", "movement")
SERVER_PACKAGES = {"django", "rest_framework", "channels", "mmo", *DOMAIN_APPS}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_load_tool_imports_nothing_of_the_server():
    for path in (ROOT / "loadtest").rglob("*.py"):
        assert not imported_packages(path) & SERVER_PACKAGES, path


def test_the_domain_apps_hold_no_load_generation():
    for app in DOMAIN_APPS:
        for path in (ROOT / app).rglob("*.py"):
            assert not imported_packages(path) & {"matplotlib", "loadtest", "multiprocessing"}, path


def test_the_image_leaves_the_development_tools_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"loadtest", "bench", "tests"} <= set(ignored)
    assert "matplotlib" not in (ROOT / "requirements.txt").read_text()
