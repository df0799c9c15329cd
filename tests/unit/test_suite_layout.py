"""The suite's own layout: a test module imports shared helpers from ``tests.support`` only, never
from another test module, so moving or renaming a test never breaks a different one."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_test_module_imports_another():
    offenders = {
        str(path.relative_to(TESTS)): sorted(name for name in imported_modules(path)
                                              if name.startswith(("tests.unit.test_", "tests.live.test_")))
        for path in TESTS.rglob("test_*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_an_import_of_another_test_module(tmp_path):
    planted = tmp_path / "test_planted.py"
    planted.write_text("def helper():\n    from tests.live.test_runtime import hang_at\n")
    assert "tests.live.test_runtime" in imported_modules(planted)
