"""The house's rules, checked on every run: the import-linter contracts in
pyproject.toml ([tool.importlinter]: domain code never imports web, a
feature's web side is reached only through its feature.py, only
callcenter.ami imports panoramisk, the state machines import no I/O, no
cycles between packages), few and explained function-level imports, and
modules and functions of a readable size."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["callcenter", "dialer", "ivr", "web", "monitoring"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 330       # "about 300"
MAX_FUNCTION_LINES = 60
MAX_FUNCTION_IMPORTS = 5     # of project modules, outside the CLI, each with its reason


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_architecture_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("module, line, broken", [
    # a service module that imports the web layer
    ("callcenter/work/allocation.py", "import web.hub  # noqa", "Domain code never imports web"),
    # a service that reaches into another feature's pages
    ("callcenter/complaints/service.py", "from callcenter.work import pages  # noqa",
     "imported only by feature.py modules"),
    # a second AMI library user
    ("dialer/service.py", "import panoramisk  # noqa", "Only callcenter.ami imports panoramisk"),
    # the pure call tracker doing I/O
    ("callcenter/calls/tracker.py", "import redis  # noqa", "import no I/O module"),
    # a cycle between two features
    ("callcenter/org/models.py", "import callcenter.complaints.service  # noqa", "No import cycles"),
])
def test_a_change_that_breaks_a_rule_fails(tmp_path, module, line, broken):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint_imports(tmp_path).returncode == 0  # the copy holds the rules
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout[-3000:]


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations/versions" not in path.as_posix():
                yield path


def test_function_level_imports_of_project_modules_are_few_and_explained():
    found = []
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("callcenter/cli/"):
            continue  # the CLI imports lazily for its start-up time
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                names = ([a.name for a in inner.names] if isinstance(inner, ast.Import)
                         else [inner.module or ""] if isinstance(inner, ast.ImportFrom) and not inner.level
                         else [])
                if any(n.split(".")[0] in PACKAGES for n in names):
                    text = lines[inner.lineno - 1] + lines[inner.lineno - 2]
                    found.append((relative, inner.lineno, "#" in text))
    found = sorted(set(found))
    assert len(found) <= MAX_FUNCTION_IMPORTS, found
    assert all(explained for *_, explained in found), [f for f in found if not f[2]]


def test_modules_and_functions_stay_readable():
    long_modules, long_functions = [], []
    for path in _modules():
        text = path.read_text()
        relative = path.relative_to(ROOT).as_posix()
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append((relative, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((relative, node.name, length))
    assert long_modules == [] and long_functions == [], (long_modules, long_functions)
