"""Compare the interface tables of two warehouses cell for cell.

Restructuring and speed work may not change a number: build before and
after, then `python -m retain.compare BEFORE AFTER` (DuckDB files or folders
of Parquet exports) lists every table whose rows, columns or types differ.
AFTER may add columns (the spec welcomes more); every column of BEFORE must
be there with the same type and the same values.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from retain.interface import INTERFACE_RELATIONS


@dataclass(frozen=True)
class TableDifference:
    relation: str
    detail: str

    def line(self) -> str:
        return f"{self.relation}: {self.detail}"


def _relation_sql(location: Path, alias: str, relation: str) -> str:
    """A relation of a DuckDB file (attached as alias) or a Parquet file in a folder."""
    if location.is_dir():
        return f"read_parquet('{location / (relation + '.parquet')}')"
    return f'{alias}."{relation}"'


def _columns(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str]]:
    return [(name, str(kind)) for name, kind, *_ in
            con.execute(f"describe select * from {source}").fetchall()]


def _difference(con: duckdb.DuckDBPyConnection, relation: str, before_source: str,
                after_source: str) -> TableDifference | None:
    before_columns, after_columns = _columns(con, before_source), _columns(con, after_source)
    missing = [column for column in before_columns if column not in after_columns]
    if missing:
        return TableDifference(relation, f"columns missing or retyped after: {missing}")
    names = ", ".join(f'"{name}"' for name, _ in before_columns)
    before = f"(select {names} from {before_source})"
    after = f"(select {names} from {after_source})"
    counts = con.execute(f"select (select count(*) from {before}), "
                         f"(select count(*) from {after})").fetchone()
    assert counts is not None
    # except all keeps duplicates apart, so equal multisets of rows are equal tables.
    only_before = con.execute(f"select count(*) from (select * from {before} except all "
                              f"select * from {after})").fetchone()
    only_after = con.execute(f"select count(*) from (select * from {after} except all "
                             f"select * from {before})").fetchone()
    assert only_before is not None and only_after is not None
    if counts[0] == counts[1] and only_before[0] == 0 and only_after[0] == 0:
        return None
    sample = con.execute(f"select * from {before} except all select * from {after} "
                         "limit 1").fetchone()
    return TableDifference(relation, f"rows {counts[0]:,} vs {counts[1]:,}; "
                                     f"{only_before[0]:,} only before, {only_after[0]:,} only "
                                     f"after; e.g. before has {sample}")


def interface_differences(before: Path, after: Path,
                          relations: tuple[str, ...] = INTERFACE_RELATIONS
                          ) -> list[TableDifference]:
    """Every interface relation whose columns, types or rows differ (empty list: identical)."""
    locations = {"before": before, "after": after}
    with duckdb.connect() as con:
        for alias, location in locations.items():
            if not location.is_dir():
                con.execute(f"attach '{location}' as {alias} (read_only)")
        found = []
        for relation in relations:
            difference = _difference(con, relation, _relation_sql(before, "before", relation),
                                     _relation_sql(after, "after", relation))
            if difference:
                found.append(difference)
        return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retain.compare",
        description="Compare every interface table of two warehouses cell for cell; "
                    "exit 1 when any differs.")
    parser.add_argument("before", type=Path, help="DuckDB file or folder of <table>.parquet")
    parser.add_argument("after", type=Path, help="DuckDB file or folder of <table>.parquet")
    args = parser.parse_args(argv)
    differences = interface_differences(args.before, args.after)
    for difference in differences:
        print(difference.line())
    print(f"{len(INTERFACE_RELATIONS) - len(differences)} of {len(INTERFACE_RELATIONS)} "
          "interface tables identical")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
