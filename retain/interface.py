"""What a run publishes, defined once, and how any reader opens it.

A model is published when its yml says so in dbt meta: `published: interface`
for a relation of metrics.md's "Interface tables" (its contract enforced), or
`published: supporting` for another mart readers may use (the time spine
MetricFlow reads, the NPS facts). Both engines publish exactly these and the
`meta` relation; `retain export`, the dashboard, the run summary and the tests
read this list. The published output is a DuckDB file (DuckDB engine) or a
folder of one Parquet file per relation (Spark); `open_published` reads either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Literal

import duckdb
import yaml

from retain.settings import PROJECT_DIR
from retain.sql import sql_identifier, sql_literal

PublishedKind = Literal["interface", "supporting"]
PUBLISHED_KINDS: tuple[PublishedKind, ...] = ("interface", "supporting")


class PublishedOutputError(RuntimeError):
    """Nothing is published at a location."""


@cache
def published_models(models_dir: Path = PROJECT_DIR / "models") -> dict[str, PublishedKind]:
    """Every model whose yml sets meta `published`, by name (interface ones first, each
    kind in name order), with its kind."""
    found: dict[str, PublishedKind] = {}
    for path in sorted(models_dir.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            kind = ((model.get("config") or {}).get("meta") or {}).get("published")
            if kind is not None:
                if kind not in PUBLISHED_KINDS:
                    raise ValueError(f"{path}: model {model['name']}: meta published={kind!r}; "
                                     f"expected one of {', '.join(PUBLISHED_KINDS)}")
                found[model["name"]] = kind
    return {name: found[name] for kind in PUBLISHED_KINDS
            for name in sorted(found) if found[name] == kind}


# The relations of metrics.md's "Interface tables", and everything published.
INTERFACE_RELATIONS = tuple(name for name, kind in published_models().items()
                            if kind == "interface")
PUBLISHED_RELATIONS = tuple(published_models())


def _parquet_view(con: duckdb.DuckDBPyConnection, schema: str, path: Path) -> None:
    """A view named after a <name>.parquet file or a <name>/ folder of parts."""
    name = path.name.removesuffix(".parquet")
    files = path / "*.parquet" if path.is_dir() else path
    con.execute(f"create view {sql_identifier(schema)}.{sql_identifier(name)} as "
                f"select * from read_parquet({sql_literal(files)})")


@contextmanager
def parquet_views(folders: dict[str, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with a view per Parquet table of each schema's folder."""
    with duckdb.connect() as con:
        for schema, folder in folders.items():
            con.execute(f"create schema if not exists {sql_identifier(schema)}")
            for path in sorted(folder.iterdir()):
                if path.suffix == ".parquet" or path.is_dir():
                    _parquet_view(con, schema, path)
        yield con


@contextmanager
def open_published(location: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection on a published output: a DuckDB file, or a folder
    (Spark's published link) of one Parquet file per relation, seen as views."""
    if location.is_dir():
        with parquet_views({"main": location}) as con:
            yield con
    elif location.is_file():
        with duckdb.connect(str(location), read_only=True) as con:
            yield con
    else:
        raise PublishedOutputError(f"{location}: no published warehouse; run `retain run` "
                                   "first")
