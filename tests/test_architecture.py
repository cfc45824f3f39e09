"""The package layout keeps its shape: one-way dependencies, small modules, thin commands.

Read from the source (AST), so an import inside a function counts as much as one at the top;
imports under ``if TYPE_CHECKING:`` are type hints, not dependencies, and are left out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "isles2018"
STAGES = ("data", "phantom", "models", "training", "inference", "crossval", "submission")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def runtime_imports(source: str) -> set[str]:
    """Every module named by an import statement, anywhere but under ``if TYPE_CHECKING``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in runtime_imports(path.read_text()) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target, stack)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def _package_of(module: str) -> str:
    """The stage package of a module, ``config``, or ``shared`` (errors, files, cli)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in (*STAGES, "config") else "shared"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
    source += "def f():\n    import y\n"
    assert runtime_imports(source) == {"typing", "typing.TYPE_CHECKING", "y"}


def test_no_import_cycle_between_modules() -> None:
    assert _cycle(_graph()) is None


def test_stage_packages_depend_one_way() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        for target in targets:
            if _package_of(module) != _package_of(target):
                packages[_package_of(module)].add(_package_of(target))
    assert _cycle(packages) is None
    assert not packages["shared"]  # errors, files and the cli registry import no stage
    assert packages["config"] <= {"data", "shared"}  # config reads the modality tokens
    assert "training" not in packages["inference"]  # a predictor never needs the trainer


def test_at_most_six_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top
    assert {"cli.py", "errors.py"} <= set(top)


@pytest.mark.parametrize("package", ["isles2018", "evaluation"])
def test_no_module_over_300_lines(package: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert long == {}


def test_only_cli_and_commands_import_click() -> None:
    users = sorted(
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if any(m.split(".")[0] == "click" for m in runtime_imports(p.read_text()))
    )
    assert users and all(Path(u).name in ("cli.py", "commands.py") for u in users), users


def test_only_the_io_module_touches_nibabel_or_simpleitk() -> None:
    users = sorted(
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if {m.split(".")[0] for m in runtime_imports(p.read_text())} & {"nibabel", "SimpleITK"}
    )
    assert users == ["isles2018/data/io.py"]


def test_every_stage_has_one_commands_module() -> None:
    for stage in ("data", "phantom", "training", "inference", "crossval", "submission"):
        assert (PACKAGE / stage / "commands.py").is_file(), stage
    assert not list(PACKAGE.rglob("command.py")) and not list(PACKAGE.glob("*_command*.py"))
