"""The layers hold (docs/architecture.md): the import-linter contracts in pyproject.toml pass on the code, fail
on a deliberate bad import in a copy of it, and cover every module of the spine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("jobtrend", "analysis", "crawler", "scheduler")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))  # the copy's packages before the installed (editable) ones
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def _copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_code():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("analysis/_bad.py", "import jobtrend.cli\n", "analysis._bad -> jobtrend.cli"),
    ("scheduler/_bad.py", "from jobtrend.cli import main\n", "scheduler._bad -> jobtrend.cli"),
    ("crawler/_bad.py", "import analysis.trends\n", "crawler._bad -> analysis.trends"),
    ("jobtrend/app/_bad.py", "import scheduler.jobs\n", "jobtrend.app._bad -> scheduler.jobs"),
    ("jobtrend/weeks.py", "import analysis.report\n", "jobtrend.weeks -> analysis.report"),
])
def test_a_bad_import_breaks_a_contract(tmp_path, module, line, broken):
    root = _copy(tmp_path)
    path = root / module
    path.write_text((path.read_text() if path.exists() else '"""A deliberate bad import."""\n') + line)
    result = _lint_imports(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout and "BROKEN" in result.stdout


def test_every_spine_module_is_in_the_spine_contract():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    spine = set(next(c for c in contracts if c["id"] == "spine")["source_modules"])
    modules = {f"jobtrend.{p.stem}" for p in (ROOT / "jobtrend").iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert modules - {"jobtrend.app", "jobtrend.cli"} == spine
