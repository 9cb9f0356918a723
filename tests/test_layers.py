"""The layers hold: import-linter's contracts (pyproject.toml) pass here and fail on a planted upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for package in ("bot", "storage"):
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def plant(module: Path, line: str) -> None:
    module.write_text(module.read_text().replace("from __future__ import annotations\n",
                                                 f"from __future__ import annotations\n\n{line}\n", 1))


def test_the_contracts_pass_on_this_tree(tmp_path: Path) -> None:
    result = lint_imports(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_core_importing_storage_breaks_the_pure_core_contract(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    plant(tree / "bot" / "core" / "weeks.py", "import storage.engine  # planted")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "bot.core.weeks -> storage.engine" in result.stdout
    assert "no I/O: no storage, database, HTTP, chat platform or charts BROKEN" in result.stdout
    assert "Contracts: 2 kept, 1 broken." in result.stdout


def test_the_digest_importing_a_platform_adapter_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    plant(tree / "bot" / "digest" / "build.py", "import bot.slack.poster  # planted")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "bot.digest is not allowed to import bot.slack" in result.stdout
