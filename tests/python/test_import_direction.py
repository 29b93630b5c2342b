"""Imports point one way (README, Architecture): orchestration -> retain; inside retain,
the raw contract stands on nothing of ours, and validation on the contract and the SQL
quoting only, never on the pipeline that runs it. Read from the source with ast, so an
import inside a function counts too."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from retain.settings import PROJECT_DIR

PACKAGE = PROJECT_DIR / "retain"
OURS = ("retain", "orchestration", "tools", "tests")
VALIDATION_MAY_IMPORT = ("retain.contract", "retain.sql", "retain.validation")
MODULES = sorted(PACKAGE.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The modules path imports, relative imports resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            found.add(".".join([*base, node.module] if node.module else base))
    return found


def _ours(path: Path) -> set[str]:
    return {name for name in _imports(path) if name.split(".")[0] in OURS}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_the_raw_contract_imports_nothing_of_ours() -> None:
    assert _ours(PACKAGE / "contract.py") == set()


@pytest.mark.parametrize("path", sorted((PACKAGE / "validation").glob("*.py")),
                         ids=lambda path: path.name)
def test_validation_imports_only_the_contract_and_sql_quoting(path: Path) -> None:
    # Not the pipeline, engines, cli or orchestration: they run validation.
    assert {name for name in _ours(path) if not _within(name, VALIDATION_MAY_IMPORT)} == set()


def test_nothing_in_retain_imports_orchestration_or_tools() -> None:
    found = {f"{_module_name(path)} imports {name}" for path in MODULES
             for name in _ours(path) if _within(name, ("orchestration", "tools", "tests"))}
    assert found == set()


def test_the_import_reader_sees_imports_inside_functions() -> None:
    # validate imports its GX suites lazily (GX takes seconds to import).
    assert "retain.validation.suites" in _imports(PACKAGE / "validation" / "validate.py")


def test_selecting_suspect_rows_does_not_import_great_expectations() -> None:
    # The pipeline selects suspect rows before GX runs; GX alone takes seconds to import.
    code = ("import sys\n"
            "from retain.contract import TABLES\n"
            "from retain.validation.frames import suspect_rows\n"
            "from retain.validation.rules import row_checks\n"
            "for table in TABLES:\n"
            "    suspect_rows(table), row_checks(table)\n"
            "print('great_expectations' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
