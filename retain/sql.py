"""Quoting of values that reach DuckDB SQL as text: file paths and relation names.

Paths come from users (--raw, --out, --warehouse) and go into SQL where a
prepared-statement parameter cannot always stand (a fragment reused in several
queries, a view definition), so they are written as literals. Quoting them in
one place means a folder named `it's` works, and a crafted name stays a name
instead of running statements of its own.
"""

from __future__ import annotations

from pathlib import Path


def sql_literal(text: str | Path) -> str:
    """text as a single-quoted SQL string literal (DuckDB reads backslashes as themselves)."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """name as a double-quoted SQL identifier, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'
