"""The test tree's own rule: shared helpers live in tests/helpers.py, never in a test_* module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def imported_names(source: str, package: list[str]) -> Iterator[tuple[int, str]]:
    """Yield (line, dotted name) of what `source`, a module of `package`, imports.

    Relative imports are resolved; `from a import b` yields `a` and `a.b` (`b` may be a module).
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def is_test_module(name: str) -> bool:
    """Tell whether a dotted name points into a test_* module of this tree."""
    parts = name.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:])


def test_no_module_under_tests_imports_from_a_test_module():
    """Helpers shared by several test modules belong in tests/helpers.py, not in a test_* module."""
    files = sorted(TESTS.rglob("*.py"))
    assert Path(__file__).resolve() in files and len(files) > 40, files
    offenders = {}  # one line per import statement
    for path in files:
        package = ["tests", *path.relative_to(TESTS).parent.parts]
        for line, name in imported_names(path.read_text(encoding="utf-8"), package):
            if is_test_module(name):
                where = f"{path.relative_to(TESTS.parent)}:{line}"
                offenders.setdefault(where, f"{where}: imports {name}")
    assert not offenders, "move these helpers to tests/helpers.py:\n" + "\n".join(
        offenders.values()
    )


@pytest.mark.parametrize(
    "source, found",
    [
        ("from .test_users_list import add_user", True),
        ("from ..api.test_users_list import add_user", True),
        ("from tests.api.test_users_list import add_user", True),
        ("from . import test_users_list", True),
        ("import tests.api.test_users_list", True),
        ("def f():\n    from .test_users_list import DOMAIN", True),
        ("from tests.helpers import add_user", False),
        ("from .. import helpers", False),
        ("from ..conftest import ADMIN_EMAIL", False),
        ("from iredapi_ldap.models import test_like", False),
    ],
)
def test_the_scan_sees_every_form_of_import(source, found):
    """Relative, absolute, module and function-local imports of a test_* module are all seen."""
    names = [name for _, name in imported_names(source, ["tests", "api"])]
    assert any(is_test_module(name) for name in names) is found, names
