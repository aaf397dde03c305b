"""The package's layering holds: import-linter's contracts, leaf modules, function-local imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "iredapi_ldap"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# Leaf module -> the other project modules it may load (config reads the password schemes).
LEAVES = {
    "errors": set(),
    "identity": set(),
    "addresses": set(),
    "passwords": set(),
    "config": {"iredapi_ldap.passwords"},
}
# Where a function may import from the project: the factory and the CLI, with a reason.
LOCAL_IMPORTS_ALLOWED = (
    "__init__.py",
    "api/__init__.py",
    "cli.py",
    "cli_support.py",
    "jobs/cli.py",
)
REASON = "# local:"


def loaded_after_import(*modules: str) -> set[str]:
    """Import modules in a fresh interpreter; return every module it then holds."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


def test_the_import_contracts_are_kept():
    """lint-imports passes: the layers, the leaves, and the only importers of ldap3/SQLAlchemy."""
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_a_leaf_module_loads_no_other_module_of_the_project(leaf):
    """Importing a leaf (errors, identity, addresses, passwords, config) loads nothing above it."""
    loaded = {
        name
        for name in loaded_after_import(f"iredapi_ldap.{leaf}")
        if name.split(".")[0] == "iredapi_ldap"
    }
    assert loaded == {"iredapi_ldap", f"iredapi_ldap.{leaf}", *LEAVES[leaf]}


def test_the_models_load_neither_the_login_layer_nor_the_web_pipeline():
    """The admin models build a CurrentAdmin without auth.py, the policies or flask-login."""
    loaded = loaded_after_import(
        "iredapi_ldap.models.admins.login",
        "iredapi_ldap.models.admins.tokens",
        "iredapi_ldap.models.users.create",
    )
    above = {"flask_login", "iredapi_ldap.auth", "iredapi_ldap.policies", "iredapi_ldap.security"}
    assert not loaded & above, sorted(loaded & above)
    assert not {
        name for name in loaded if name.startswith(("iredapi_ldap.api", "iredapi_ldap.schemas"))
    }


def function_local_imports(source: str) -> list[int]:
    """Return the lines of imports from the project made inside a function."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            relative = isinstance(inner, ast.ImportFrom) and inner.level > 0
            absolute = isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(
                "iredapi_ldap"
            )
            absolute |= isinstance(inner, ast.Import) and any(
                alias.name.startswith("iredapi_ldap") for alias in inner.names
            )
            if relative or absolute:
                lines.append(inner.lineno)
    return sorted(set(lines))


def has_reason(lines: list[str], lineno: int) -> bool:
    """Tell whether the run of import lines holding `lineno` follows a `# local:` comment."""
    index = lineno - 1
    while index > 0 and lines[index - 1].strip().startswith(("from ", "import ")):
        index -= 1
    above = index - 1
    while above >= 0 and lines[above].strip().startswith("#"):
        if lines[above].strip().startswith(REASON):
            return True
        above -= 1
    return False


def test_function_local_project_imports_only_in_the_factory_and_the_cli_with_a_reason():
    """An import inside a function hides a dependency; only the factory and the CLI may, saying why."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE).as_posix()
        lines = source.splitlines()
        for lineno in function_local_imports(source):
            if where not in LOCAL_IMPORTS_ALLOWED:
                offenders.append(f"iredapi_ldap/{where}:{lineno}: move it to the top")
            elif not has_reason(lines, lineno):
                offenders.append(f"iredapi_ldap/{where}:{lineno}: add a '{REASON} <why>' comment")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    "source, reasoned",
    [
        ("def f():\n    # local: why\n    from . import a\n    from . import b\n", [3, 4]),
        ("def f():\n    # local: why\n    # more\n    from . import a\n", [4]),
        ("def f():\n    from . import a\n", []),
        ("def f():\n    x = 1\n    # local: why\n    import iredapi_ldap.x\n", [4]),
        ("def f():\n    import os\n", []),
        ("from . import a\n", []),
    ],
)
def test_the_local_import_check_finds_imports_and_their_reasons(source, reasoned):
    """The scan sees relative and absolute project imports in functions, and the comment above."""
    lines = source.splitlines()
    found = function_local_imports(source)
    assert [line for line in found if has_reason(lines, line)] == reasoned
    assert all(line in found for line in reasoned)
