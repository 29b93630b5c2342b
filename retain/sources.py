"""The dbt sources of the raw tables (models/staging/_sources.yml), written from the contract.

`python -m retain.sources --write` regenerates the file; a test fails when the
committed file differs from what the contract says.
"""

from __future__ import annotations

import argparse
import sys

from retain.contract import RAW_SCHEMA, TABLES, Column
from retain.settings import PROJECT_DIR

SOURCES_FILE = PROJECT_DIR / "models" / "staging" / "_sources.yml"
HEADER = ("# Generated from retain/contract.py by `python -m retain.sources --write`;\n"
          "# do not edit by hand (tests/python/test_contract.py compares them).\n")


def _column_description(column: Column) -> str:
    rules = [column.type.capitalize()]
    if column.primary_key:
        rules.append("primary key")
    elif column.required:
        rules.append("required")
    if column.accepted_values:
        rules.append("one of " + ", ".join(column.accepted_values))
    if column.code:
        rules.append(f"an {column.code.standard} code")
    if column.references:
        rules.append(f"references {column.references}")
    return "; ".join(rules) + " (see raw-contract.md)."


def sources_yaml() -> str:
    """The text of _sources.yml for the contract's tables."""
    lines = [HEADER + "version: 2", "", "sources:", f"  - name: {RAW_SCHEMA}",
             '    description: "Raw tables typed and normalised by `retain load` from the files '
             'in RETAIN_RAW_DIR (../shared/spec/raw-contract.md)."',
             f"    schema: {RAW_SCHEMA}", "    tables:"]
    for table in TABLES:
        lines += [f"      - name: {table.name}", f'        description: "{table.description}"',
                  "        columns:"]
        for column in table.columns:
            lines += [f"          - name: {column.name}",
                      f'            description: "{_column_description(column)}"']
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retain.sources",
        description="Write (or check) models/staging/_sources.yml from the raw contract.")
    parser.add_argument("--write", action="store_true", help="rewrite the file")
    args = parser.parse_args(argv)
    expected = sources_yaml()
    if args.write:
        SOURCES_FILE.write_text(expected)
        return 0
    current = SOURCES_FILE.read_text() if SOURCES_FILE.exists() else ""
    if current != expected:
        print(f"{SOURCES_FILE} differs from the contract: run python -m retain.sources --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
