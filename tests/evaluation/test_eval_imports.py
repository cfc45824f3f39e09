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
