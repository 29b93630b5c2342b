"""Compare the interface tables of two warehouses cell for cell.

Restructuring and speed work may not change a number: build before and
after, then `python -m tools.compare BEFORE AFTER` (DuckDB files or folders
of Parquet exports) lists every table whose rows, columns or types differ.
The same comparison, with --across-engines, holds a Spark build to DuckDB's.
AFTER may add columns (the spec welcomes more); every column of BEFORE must
be there with the same type and the same values.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from retain.interface import PUBLISHED_RELATIONS
from retain.sql import sql_identifier, sql_literal


@dataclass(frozen=True)
class TableDifference:
    relation: str
    detail: str

    def line(self) -> str:
        return f"{self.relation}: {self.detail}"


def _relation_sql(location: Path, alias: str, relation: str) -> str:
    """A relation of a DuckDB file (attached as alias) or a Parquet file in a folder."""
    if location.is_dir():
        return f"read_parquet({sql_literal(location / (relation + '.parquet'))})"
    return f"{alias}.{sql_identifier(relation)}"


# Across engines (DuckDB and Spark's Parquet), a timestamp is an instant either way:
# Spark writes it adjusted to UTC, which DuckDB reads as TIMESTAMP WITH TIME ZONE.
SAME_ACROSS_ENGINES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMP"}
# DOUBLE columns (ratios, percentiles, averages: metrics.md leaves them unrounded) are
# compared to this many significant digits across engines, whose float arithmetic
# differs in the last bits (39.400000000000006 against 39.4; a DECIMAL converted to
# DOUBLE one unit apart); money and rates are DECIMAL and compared exactly.
DOUBLE_DIGITS = 9


def _columns(con: duckdb.DuckDBPyConnection, source: str,
             across_engines: bool = False) -> list[tuple[str, str]]:
    columns = [(name, str(kind)) for name, kind, *_ in
               con.execute(f"describe select * from {source}").fetchall()]
    if across_engines:
        return [(name, SAME_ACROSS_ENGINES.get(kind, kind)) for name, kind in columns]
    return columns


def _compared(name: str, kind: str, across_engines: bool) -> str:
    """A column as compared: itself, or across engines in the form both agree on."""
    column = sql_identifier(name)
    if across_engines and kind == "DOUBLE":
        digits = f"{DOUBLE_DIGITS - 1} - cast(floor(log10(abs({column}))) as integer)"
        return (f"case when {column} = 0 then {column} else round({column}, {digits}) end "
                f"as {column}")
    if across_engines and kind == "TIMESTAMP":
        return f"cast({column} as timestamp) as {column}"
    return column


def _difference(con: duckdb.DuckDBPyConnection, relation: str, before_source: str,
                after_source: str, across_engines: bool = False) -> TableDifference | None:
    before_columns = _columns(con, before_source, across_engines)
    after_columns = _columns(con, after_source, across_engines)
    missing = [column for column in before_columns if column not in after_columns]
    if missing:
        return TableDifference(relation, f"columns missing or retyped after: {missing}")
    names = ", ".join(_compared(name, kind, across_engines) for name, kind in before_columns)
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
                          relations: tuple[str, ...] = PUBLISHED_RELATIONS,
                          across_engines: bool = False) -> list[TableDifference]:
    """Every interface relation whose columns, types or rows differ (empty list: identical).

    across_engines: the two were built by different engines (DuckDB and Spark);
    timestamps compare as instants and DOUBLEs to DOUBLE_DIGITS significant digits."""
    locations = {"before": before, "after": after}
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for alias, location in locations.items():
            if not location.is_dir():
                con.execute(f"attach {sql_literal(location)} as {alias} (read_only)")
        found = []
        for relation in relations:
            difference = _difference(con, relation, _relation_sql(before, "before", relation),
                                     _relation_sql(after, "after", relation), across_engines)
            if difference:
                found.append(difference)
        return found


def relations_present(location: Path) -> set[str]:
    """The published relations a DuckDB file or a folder of Parquet exports holds."""
    if location.is_dir():
        return {name for name in PUBLISHED_RELATIONS
                if (location / f"{name}.parquet").exists() or (location / name).is_dir()}
    with duckdb.connect(str(location), read_only=True) as con:
        names = {row[0] for row in con.execute(
            "select table_name from information_schema.tables").fetchall()}
    return names & set(PUBLISHED_RELATIONS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.compare",
        description="Compare every interface table of two warehouses cell for cell; "
                    "exit 1 when any differs.")
    parser.add_argument("before", type=Path, help="DuckDB file or folder of <table>.parquet")
    parser.add_argument("after", type=Path, help="DuckDB file or folder of <table>.parquet")
    parser.add_argument("--across-engines", action="store_true",
                        help="one side was built by Spark: timestamps compare as instants, "
                             f"DOUBLEs to {DOUBLE_DIGITS} significant digits (money stays "
                             "exact)")
    parser.add_argument("--allow-new", action="store_true",
                        help="relations that BEFORE lacks (added since) are listed, not "
                             "compared: a change may add relations, as it may add columns")
    args = parser.parse_args(argv)
    relations = PUBLISHED_RELATIONS
    if args.allow_new:
        present = relations_present(args.before)
        new = [name for name in relations if name not in present]
        relations = tuple(name for name in relations if name in present)
        if new:
            print(f"new since BEFORE, not compared: {', '.join(new)}")
    differences = interface_differences(args.before, args.after, relations,
                                        across_engines=args.across_engines)
    for difference in differences:
        print(difference.line())
    print(f"{len(relations) - len(differences)} of {len(relations)} "
          "interface tables identical")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
