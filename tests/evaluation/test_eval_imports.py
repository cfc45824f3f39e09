"""evaluation depends on numpy/scipy/nibabel only: never on torch or isles2018."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import evaluation


def test_no_evaluation_module_imports_torch_or_isles2018():
    modules = sorted(f"evaluation.{m.name}" for m in pkgutil.iter_modules(evaluation.__path__))
    assert {"evaluation.metrics", "evaluation.cli", "evaluation.report"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'isles2018'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def _imported_roots(path) -> set[str]:
    """Top-level package of every import statement in a file, wherever it stands."""
    import ast

    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_evaluation_source_names_torch_or_isles2018_even_inside_a_function():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[2] / "evaluation").rglob("*.py"))
    assert len(files) > 10
    offenders = {
        str(f.name): sorted(_imported_roots(f) & {"torch", "isles2018"})
        for f in files
        if _imported_roots(f) & {"torch", "isles2018"}
    }
    assert offenders == {}


def test_the_source_check_sees_a_function_level_import(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    import torch.nn as nn\n    from isles2018.config import X\n")
    assert _imported_roots(sneaky) == {"torch", "isles2018"}
