"""The whole ``isles2018`` command line: help everywhere, fast, and one place for user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from isles2018.cli import COMMANDS, main


def test_help_of_every_command_works_without_importing_torch() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from isles2018.cli import COMMANDS, main\n"
        "r = CliRunner().invoke(main, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(r.output)\n"
        "for name in COMMANDS:\n"
        "    h = CliRunner().invoke(main, [name, '--help'])\n"
        "    assert h.exit_code == 0 and 'Usage:' in h.output, (name, h.output)\n"
        "v = CliRunner().invoke(main, ['--version'])\n"
        "assert 'isles2018, version' in v.output\n"
        "assert 'torch' not in sys.modules, 'torch imported by --help'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


def test_every_registered_command_resolves() -> None:
    assert set(COMMANDS) >= {"phantom", "train", "predict", "crossval", "validate-submission"}
    for name in COMMANDS:
        assert main.get_command(None, name) is not None, name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "{tmp}/nowhere"], "nowhere"),
        (["train", "{tmp}", "--out", "{tmp}/run", "--config", "nope"], "unknown config 'nope'"),
        (["split", "{tmp}"], "no case_<n> folders found"),
        (
            ["eval", "score", "--prediction", "{tmp}", "--reference", "{tmp}", "--out", "{tmp}/e"],
            "{tmp}",
        ),
    ],
)
def test_a_user_error_is_one_line_and_exit_code_1(tmp_path: Path, args, message) -> None:
    args = [a.format(tmp=tmp_path) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message.format(tmp=tmp_path) in lines[0]


def test_an_unexpected_exception_keeps_its_traceback(tmp_path: Path, monkeypatch) -> None:
    def broken(root):
        raise RuntimeError("a bug, not the user's fault")

    monkeypatch.setattr("isles2018.data.layout.discover_cases", broken)
    result = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)  # not turned into "Error: ..."
    assert "Error:" not in result.output


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "isles2018", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "predict" in result.stdout


def test_every_option_of_every_command_has_help() -> None:
    import click

    for name in COMMANDS:
        command = main.get_command(None, name)  # type: ignore[arg-type]
        if isinstance(command, click.Group):
            continue  # the evaluation's own group: tested with its package
        undocumented = [
            p.name for p in command.params if isinstance(p, click.Option) and not p.help
        ]
        assert undocumented == [], (name, undocumented)
