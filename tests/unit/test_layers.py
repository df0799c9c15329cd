"""The layers hold: every module imports only from the layers below its own, and bridges/ only
from the model (the Import Linter contracts in pyproject.toml, the source of truth).

The contract is run on this tree, and on a copy of it with one upward import planted inside a
function, to show that such an import (as lazy as it gets) is caught and named.

Run as a script, it prints the figures of any checkout against this tree's layers: the floors,
the imports that point upwards, and the circles of modules importing each other:
``python -m tests.unit.test_layers [TREE]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "bridges")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """Import Linter on ``tree``'s packages with ``tree``'s pyproject.toml (no cache: a stale
    graph would hide what a test planted)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}  # ahead of the installed (editable) package
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(linter), "--config", str(tree / "pyproject.toml"), "--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_every_module_imports_only_downward_and_bridges_only_the_model():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_inside_a_function_breaks_the_contract_and_is_named(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "widgets"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    clock = tmp_path / "bot" / "conference" / "clock.py"
    clock.write_text(clock.read_text() + "\n\ndef _planted():\n    from bot.cli import main\n\n    return main\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "bot.conference.clock -> bot.cli" in result.stdout, result.stdout


def test_an_upward_import_for_type_checking_only_breaks_the_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "widgets"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    store = tmp_path / "bot" / "store" / "delays.py"
    store.write_text(store.read_text() + "\n\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                     "    from bot.runtime import Runtime\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "bot.store.delays -> bot.runtime" in result.stdout, result.stdout


def test_every_module_of_bot_is_on_a_layer_and_bridges_are_kept_off_all_but_the_model():
    floors = contract_floors(ROOT)
    placed = {name for floor in floors for name in floor}
    tops = {f"bot.{path.stem}" for path in (ROOT / "bot").iterdir()
            if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()}
    assert tops - placed == set(), "put these on a layer in pyproject.toml"
    assert set(contract(ROOT, "bridges")["forbidden_modules"]) == placed - set(floors[0])


def test_no_modules_import_each_other_in_a_circle():
    assert circles(import_graph(ROOT)) == []


# ---- figures: floors, upward arrows, circles ---------------------------------------------------


def contract(tree: Path, contract_id: str) -> dict:
    config = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id)


def contract_floors(tree: Path) -> list[list[str]]:
    """The layers contract's layers, lowest first, each as its modules."""
    layers = contract(tree, "layers")["layers"]
    return [[name.strip() for name in layer.replace("|", ":").split(":")] for layer in reversed(layers)]


def import_graph(tree: Path) -> dict[str, set[str]]:
    """module -> the modules of bot/ and bridges/ it imports, anywhere in it, read from ``tree``."""
    code = ("import grimp, json, sys\n"
            "g = grimp.build_graph(*sys.argv[1:], cache_dir=None)\n"
            "print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}))\n")
    out = subprocess.run([sys.executable, "-c", code, *PACKAGES], cwd=tree, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tree)}, check=True, timeout=120).stdout
    return {module: set(imported) for module, imported in json.loads(out).items()}


def floor_of(module: str, floors: list[list[str]]) -> int | None:
    for number, floor in enumerate(floors, start=1):
        if any(module == name or module.startswith(name + ".") for name in floor):
            return number
    return None


def upward_arrows(graph: dict[str, set[str]], floors: list[list[str]]) -> list[tuple[str, str]]:
    return sorted((module, imported) for module, imports in graph.items() for imported in imports
                  if (low := floor_of(module, floors)) is not None and (high := floor_of(imported, floors)) is not None
                  and high > low)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def report(tree: Path) -> list[str]:
    floors = contract_floors(ROOT)
    graph = import_graph(tree)
    lines = [f"floor {number}: {' '.join(floor)}" for number, floor in reversed(list(enumerate(floors, start=1)))]
    unplaced = sorted(m for m in graph if floor_of(m, floors) is None and not m.startswith("bridges"))
    if unplaced:
        lines.append(f"on no floor: {' '.join(unplaced)}")
    arrows = upward_arrows(graph, floors)
    lines.append(f"{len(arrows)} upward arrows")
    lines += [f"  {a} (floor {floor_of(a, floors)}) -> {b} (floor {floor_of(b, floors)})" for a, b in arrows]
    off_model = sorted((m, i) for m, imports in graph.items() if m.startswith("bridges") for i in imports
                       if floor_of(i, floors) not in (None, 1))
    lines.append(f"{len(off_model)} imports from bridges/ off the model")
    lines += [f"  {a} -> {b}" for a, b in off_model]
    groups = circles(graph)
    lines.append(f"{len(groups)} circles" + "".join(f"; one of {len(g)} files" for g in groups))
    lines += [f"  {' '.join(group)}" for group in groups]
    return lines


if __name__ == "__main__":
    print("\n".join(report(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT)))
