"""Extract-load: type every raw file of the contract into the `raw` schema.

Typing happens here, once, so that a value that cannot be read (an unparsable
date, a number with a comma) stops the run with the file, column and value in
the message instead of becoming a silent NULL further down. The contract's
conventions are applied here too, once: text trimmed and empty cells NULL,
enumerations lower case, codes upper case, an empty discount or tax 0. So
validation checks, and staging reads, the values the contract means.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from retain.contract import DUCKDB_TYPES, RAW_SCHEMA, TABLES, Column, Table, appended_rows
from retain.sql import sql_identifier, sql_literal


class RawInputError(Exception):
    """Raw input that breaks the contract in a way that stops the load."""

    def __init__(self, path: Path | str, message: str, column: str | None = None,
                 sample: object = None) -> None:
        self.path = str(path)
        self.column = column
        self.sample = sample
        where = f"{self.path}" + (f", column '{column}'" if column else "")
        detail = f" (sample bad value: {sample!r})" if sample is not None else ""
        super().__init__(f"{where}: {message}{detail}")


# Where the build file records what each raw table was loaded from (not in `raw`: the
# sources and meta's row counts read that): the digest of a file reloaded whole, and
# per day of an appended table (usage events) the rows and a sum of their values'
# hashes as the file held them.
LOAD_STATE = "load_state"
APPENDED_DAYS = f"{LOAD_STATE}.appended_days"
# The same per day of the file being loaded.
FILE_DAYS = "file_days"


@dataclass(frozen=True)
class RawFile:
    table: Table
    path: Path | None  # None: an optional table that is absent

    @property
    def format(self) -> str:
        return "none" if self.path is None else self.path.suffix.lstrip(".")


def _looks_like(name: str, table: str) -> bool:
    """A file name that stands for table but is not read as it: another case, another
    or an extra suffix (`Usage_Events.csv`, `usage_events.csv.gz`)."""
    lowered = name.lower()
    return lowered == table or lowered.startswith(f"{table}.")


def raw_files(raw_dir: Path) -> list[RawFile]:
    """The file of every contract table in raw_dir, checking presence rules. A name that
    exists but cannot be read, or that stands for a table under another spelling, is an
    error, never an absent table: an optional table read as empty would change numbers
    without a word."""
    if not raw_dir.is_dir():
        raise RawInputError(raw_dir, "raw folder does not exist (or is not a folder)")
    try:
        names = sorted(os.listdir(raw_dir))
    except OSError as error:
        raise RawInputError(raw_dir, f"raw folder cannot be listed: {error.strerror}") from error
    found = []
    for table in TABLES:
        expected = {f"{table.name}.{ext}" for ext in ("csv", "parquet")}
        present = [raw_dir / name for name in names if name in expected]
        for path in present:
            if not path.is_file():
                raise RawInputError(path, "exists but is not a readable file (a link to "
                                    "nothing, e.g. a share that is not mounted, or a folder)")
        if len(present) > 1:
            raise RawInputError(raw_dir, f"both {table.name}.csv and {table.name}.parquet exist; "
                                "keep one file per table")
        others = [name for name in names if name not in expected and _looks_like(name,
                                                                               table.name)]
        if not present and others:
            raise RawInputError(raw_dir / others[0], f"is not read as the {table.name} table: "
                                f"name it {table.name}.csv or {table.name}.parquet (names are "
                                "case-sensitive; compressed files are not read)")
        if not present and not table.optional:
            raise RawInputError(raw_dir / f"{table.name}.csv",
                                "required table is missing (expected .csv or .parquet)")
        found.append(RawFile(table, present[0] if present else None))
    return found


def absent_tables(raw_dir: Path) -> frozenset[str]:
    """Optional tables without a file: no checks, and no foreign keys into them."""
    return frozenset(raw.table.name for raw in raw_files(raw_dir) if raw.path is None)


def _reader_sql(raw_file: RawFile) -> str:
    path = sql_literal(str(raw_file.path))
    if raw_file.format == "csv":
        # Everything as text first: DuckDB's type sniffing would turn a bad
        # value into a whole-column VARCHAR or an error without the column.
        return (f"read_csv({path}, header = true, delim = ',', quote = '\"', escape = '\"', "
                "all_varchar = true, auto_detect = true, sample_size = -1)")
    return f"read_parquet({path})"


_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                            "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"})


def _decimal_scale(type_name: str) -> int | None:
    found = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", type_name.strip().upper())
    return int(found.group(2)) if found else None


def _casts_exactly(column: Column, source_type: str) -> bool:
    """Whether a typed number (Parquet) becomes the column's type by a cast that keeps its
    value exactly or fails (out of range): an integer into any number column, a decimal
    into a decimal column of at least its scale. Such a column is typed and checked
    without its text: formatting every amount as text and matching a pattern took most
    of the load of the invoice tables."""
    source = source_type.strip().upper()
    if column.type == "integer":
        return source in _INTEGER_TYPES
    if column.type not in ("decimal", "rate"):
        return False
    scale, target_scale = _decimal_scale(source), _decimal_scale(DUCKDB_TYPES[column.type])
    return source in _INTEGER_TYPES or (scale is not None and target_scale is not None
                                        and scale <= target_scale)


def _checked_value(column: Column, column_sql: str, source_type: str) -> str:
    """What the typing check finds present (not NULL) and samples: the typed number
    itself where it casts exactly, else the value's trimmed text."""
    if _casts_exactly(column, source_type):
        return column_sql
    return _text_expression(column_sql, source_type)


def _text_expression(column_sql: str, source_type: str) -> str:
    """The trimmed text of a value, NULL when empty."""
    text = column_sql if source_type == "VARCHAR" else f"cast({column_sql} as varchar)"
    return f"nullif(trim({text}), '')"


def _typed_expression(column: Column, column_sql: str, source_type: str) -> str:
    """SQL that types one column, NULL where the value cannot be typed. Text is
    normalised as the contract says: trimmed, empty as NULL, enumerations lower
    case and codes upper case (case-insensitive values, not errors)."""
    target = DUCKDB_TYPES[column.type]
    if column.type == "string":
        text = _text_expression(column_sql, source_type)
        return {"lower": f"lower({text})", "upper": f"upper({text})"}.get(column.case or "",
                                                                          text)
    if column.type == "timestamp" and source_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"timezone('UTC', {column_sql})"
    if source_type.upper() == target.upper() or (
        column.type == "date" and source_type == "DATE"
    ) or (column.type == "timestamp" and source_type.startswith("TIMESTAMP")):
        return column_sql
    if _casts_exactly(column, source_type):
        return f"try_cast({column_sql} as {target})"
    text = _text_expression(column_sql, source_type)
    if column.type == "boolean":
        return f"case lower({text}) when 'true' then true when 'false' then false end"
    if column.type == "date":
        return (f"case when regexp_full_match({text}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') "
                f"then try_cast({text} as date) end")
    if column.type == "timestamp":
        # An ISO 8601 value without an offset is UTC (the session time zone
        # is UTC); one with an offset is converted to UTC.
        return (f"case when regexp_full_match({text}, "
                "'\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?"
                "(Z|[+-]\\d{2}(:?\\d{2})?)?') "
                f"then timezone('UTC', try_cast({text} as timestamptz)) end")
    if column.type == "integer":
        return (f"case when regexp_full_match({text}, '[+-]?\\d+') "
                f"then try_cast({text} as bigint) end")
    return (f"case when regexp_full_match({text}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)') "
            f"then try_cast({text} as {target}) end")


def _may_fail(column: Column, source_type: str, typed: str, column_sql: str) -> bool:
    """Whether typing the column can turn a value into NULL, so that the load must look
    for such values: never for text, a value already of the type, or a Parquet instant
    (TIMESTAMP WITH TIME ZONE) taken to UTC; casting those to text to check them costs a
    pass over every event for nothing."""
    return (column.type != "string" and typed != column_sql
            and not (column.type == "timestamp"
                     and source_type.startswith("TIMESTAMP WITH TIME ZONE")))


def _source_columns(con: duckdb.DuckDBPyConnection,
                    raw_file: RawFile) -> dict[str, tuple[str, str]]:
    """Map of lower-cased, trimmed header name to (actual name, DuckDB type)."""
    try:
        described = con.execute(f"describe select * from {_reader_sql(raw_file)}").fetchall()
    except duckdb.Error as error:
        raise RawInputError(raw_file.path, f"cannot be read: {_first_line(error)}") from error
    return {name.strip().lower(): (name, column_type) for name, column_type, *_ in described}


def _first_line(error: Exception) -> str:
    """The gist of a DuckDB error; a CSV error names its cause two lines down
    (e.g. "This file is not utf-8 encoded")."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if "CSV Error" in lines[0] and len(lines) > 2:
        return f"{lines[0]}: {lines[2]}"
    return lines[0]


def _check_typing(con: duckdb.DuckDBPyConnection, raw_file: RawFile,
                  checks: list[tuple[Column, str, str]], where: str | None = None) -> None:
    """Raise on the first column holding a value that cannot be typed (in the rows
    matching where, when given)."""
    if not checks:
        return
    selects = []
    for _, value_sql, typed_sql in checks:
        bad = f"{value_sql} is not null and {typed_sql} is null"
        selects.append(f"count(*) filter (where {bad})")
        selects.append(f"min({value_sql}) filter (where {bad})")
    try:
        row = con.execute(f"select {', '.join(selects)} from {_reader_sql(raw_file)}"
                          + (f" where {where}" if where else "")).fetchone()
    except duckdb.Error as error:
        raise RawInputError(raw_file.path, f"cannot be read: {_first_line(error)}") from error
    assert row is not None
    for index, (column, _, _) in enumerate(checks):
        bad_rows, sample = row[2 * index], row[2 * index + 1]
        if bad_rows:
            raise RawInputError(raw_file.path, f"{bad_rows} value(s) are not a valid "
                                f"{column.type}", column=column.name, sample=str(sample))


def _empty_table_sql(table: Table) -> str:
    columns = ", ".join(f"cast(null as {DUCKDB_TYPES[c.type]}) as {sql_identifier(c.name)}"
                        for c in table.columns)
    return f"select {columns} where false"


def _appending(con: duckdb.DuckDBPyConnection, table: Table,
               appended_from: datetime | None) -> bool:
    """Whether this load replaces only the recent rows of an appended table that an
    earlier load wrote."""
    if appended_rows(table, appended_from) is None:
        return False
    found = con.execute("select count(*) from duckdb_tables() where schema_name = ? and "
                        "table_name = ?", [RAW_SCHEMA, table.name]).fetchone()
    return bool(found and found[0])


def _file_day_digests(con: duckdb.DuckDBPyConnection, raw_file: RawFile,
                      source_columns: dict[str, tuple[str, str]], timestamp_sql: str) -> None:
    """FILE_DAYS: per day of an appended table's file, its rows and a sum of hashes of
    their values as the file holds them (before typing), in one pass over the file.
    Rows without a timestamp have no day: every load reloads them. The day is found
    from the instant's microseconds (floored to a day), not by a cast of every
    timestamp to a date, which costs as much again as the pass (DuckDB's time zones)."""
    values = ", ".join(sql_identifier(source_columns[name][0])
                       for name in raw_file.table.column_names)
    day = 86_400_000_000
    try:
        con.execute(f"""
            create or replace temp table {FILE_DAYS} as
            with file_rows as (
                select epoch_us({timestamp_sql}) as at_us, hash({values}) as value_hash
                from {_reader_sql(raw_file)}
                where {timestamp_sql} is not null
            ),
            by_day as (
                select at_us - ((at_us % {day}) + {day}) % {day} as day_start_us,
                       count(*) as rows, sum(value_hash) as value_hash
                from file_rows
                group by 1
            )
            select cast(make_timestamp(day_start_us) as date) as day, rows, value_hash
            from by_day""")
    except duckdb.Error as error:
        raise RawInputError(raw_file.path, f"cannot be read: {_first_line(error)}") from error


def _day_totals(con: duckdb.DuckDBPyConnection, relation: str, where: str,
                parameters: list[object]) -> tuple[int, int]:
    found = con.execute(f"select coalesce(sum(rows), 0), coalesce(sum(value_hash), 0) "
                        f"from {relation} where {where}", parameters).fetchone()
    assert found is not None
    return int(found[0]), int(found[1])


def _check_kept_rows(con: duckdb.DuckDBPyConnection, raw_file: RawFile,
                     appended_from: datetime) -> None:
    """An appended table keeps its rows from before appended_from (a midnight): the file
    must still hold exactly those rows, or the kept table would go on holding rows the
    file no longer has (or lack new old ones: an event deleted, moved into the
    recomputed days, corrected, or arriving late). The kept days' digests, recorded when
    their rows were loaded, are compared with the file's (FILE_DAYS): no pass over the
    kept rows, and none over the file's values typed."""
    table = raw_file.table
    kept = _day_totals(con, APPENDED_DAYS, "table_name = ? and day < ?",
                       [table.name, appended_from.date()])
    in_file = _day_totals(con, FILE_DAYS, "day < ?", [appended_from.date()])
    if kept != in_file:
        raise RawInputError(
            raw_file.path, f"its rows before {appended_from:%Y-%m-%d} differ from those the "
            f"last run kept ({in_file[0]:,} rows in the file, {kept[0]:,} kept): rows older "
            "than the lookback were deleted, moved, corrected or added late; an incremental "
            "run cannot see that: run `retain run --full-refresh`",
            column=table.appended_on)


def _record_loaded_days(con: duckdb.DuckDBPyConnection, table: Table,
                        appended_from: datetime | None) -> None:
    """The digests of the days just loaded (all, or those from appended_from on) from
    FILE_DAYS; the kept days keep theirs."""
    start = appended_from.date() if appended_from else date.min
    con.execute(f"delete from {APPENDED_DAYS} where table_name = ? and day >= ?",
                [table.name, start])
    con.execute(f"insert into {APPENDED_DAYS} select ?, day, rows, value_hash "
                f"from {FILE_DAYS} where day >= ?", [table.name, start])


def _appended_timestamp(source: tuple[str, str], typed: str) -> str:
    """How the load selects recent rows, and finds their day, by their timestamp: a
    typed column as it is, so that DuckDB skips the older row groups of a Parquet file
    (the session time zone is UTC); text through its typed value, so that an unreadable
    one is NULL and its row is checked (and reported), never skipped."""
    name, source_type = source
    return sql_identifier(name) if source_type.startswith("TIMESTAMP") else typed


def _load_table(con: duckdb.DuckDBPyConnection, raw_file: RawFile,
                appended_from: datetime | None) -> int:
    """Load one file; rows loaded. An appended table already loaded gets only its rows
    from appended_from on (the older ones stay), typed and checked the same way."""
    table = raw_file.table
    target = f"{RAW_SCHEMA}.{sql_identifier(table.name)}"
    if raw_file.path is None:
        con.execute(f"create or replace table {target} as {_empty_table_sql(table)}")
        con.execute(f"delete from {APPENDED_DAYS} where table_name = ?", [table.name])
        return 0
    if raw_file.path.stat().st_size == 0:
        raise RawInputError(raw_file.path, "file is empty (not even a header row)")
    source_columns = _source_columns(con, raw_file)
    missing = [c.name for c in table.columns if c.name not in source_columns]
    if missing:
        raise RawInputError(raw_file.path, "listed column(s) missing from the header: "
                            + ", ".join(missing), column=missing[0])
    selects, checks, typed_columns = [], [], {}
    for column in table.columns:
        actual, source_type = source_columns[column.name]
        column_sql = sql_identifier(actual)
        typed = typed_columns[column.name] = _typed_expression(column, column_sql, source_type)
        loaded = f"coalesce({typed}, 0)" if column.empty_means_zero else typed
        selects.append(f"{loaded} as {sql_identifier(column.name)}")
        if _may_fail(column, source_type, typed, column_sql):
            checks.append((column, _checked_value(column, column_sql, source_type), typed))
    appending = _appending(con, table, appended_from)
    timestamp = (_appended_timestamp(source_columns[table.appended_on],
                                     typed_columns[table.appended_on])
                 if table.appended_on else None)
    recent = appended_rows(table, appended_from, timestamp) if appending else None
    _check_typing(con, raw_file, checks, recent)
    if timestamp:
        _file_day_digests(con, raw_file, source_columns, timestamp)
    if appending:
        assert appended_from is not None
        _check_kept_rows(con, raw_file, appended_from)
    source = (f"select {', '.join(selects)} from {_reader_sql(raw_file)}"
              + (f" where {recent}" if recent else ""))
    # The table and its days' digests change together or not at all.
    con.begin()
    try:
        if appending:
            con.execute(f"delete from {target} where {appended_rows(table, appended_from)}")
            loaded_rows = con.execute(f"insert into {target} {source}").fetchone()
        else:
            con.execute(f"create or replace table {target} as {source}")
            loaded_rows = con.execute(f"select count(*) from {target}").fetchone()
        if table.appended_on:
            _record_loaded_days(con, table, appended_from if appending else None)
        con.commit()
    except duckdb.Error as error:
        con.rollback()
        raise RawInputError(raw_file.path, f"cannot be loaded: {_first_line(error)}") from error
    assert loaded_rows is not None
    return int(loaded_rows[0])


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(raw_dir: Path) -> dict[str, str]:
    """The content digest of every present raw file that is reloaded whole (all but the
    appended usage events): an incremental run skips a table whose file is unchanged."""
    return {raw.table.name: file_digest(raw.path) for raw in raw_files(raw_dir)
            if raw.path is not None and raw.table.appended_on is None}


def _loaded_digest(con: duckdb.DuckDBPyConnection, table: Table) -> str | None:
    found = con.execute(f"select digest from {LOAD_STATE}.loaded_files where table_name = ?",
                        [table.name]).fetchone()
    return str(found[0]) if found else None


def _record_digest(con: duckdb.DuckDBPyConnection, table: Table, digest: str | None) -> None:
    con.execute(f"delete from {LOAD_STATE}.loaded_files where table_name = ?", [table.name])
    if digest:
        con.execute(f"insert into {LOAD_STATE}.loaded_files values (?, ?)", [table.name, digest])


def _table_rows(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    result = con.execute(
        f"select count(*) from {RAW_SCHEMA}.{sql_identifier(table.name)}").fetchone()
    return int(result[0]) if result else 0


def load_raw(raw_dir: Path, warehouse: Path,
             progress: Callable[[str], None] = lambda _: None,
             config: dict[str, str] | None = None,
             appended_from: datetime | None = None) -> dict[str, int]:
    """Load every contract table of raw_dir into warehouse; return rows per table.

    config: DuckDB settings (memory limit, spill folder); big loads never need
    the insertion order, which costs memory and time. appended_from: an
    incremental run's first recomputed moment; a table new rows are appended to
    (usage_events) then keeps its older rows and loads only the later ones, and
    a table whose file has the digest it was last loaded from is kept as it is."""
    files = raw_files(raw_dir)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with duckdb.connect(str(warehouse),
                        config={"preserve_insertion_order": "false", **(config or {})}) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(f"create schema if not exists {LOAD_STATE}")
        con.execute(f"create table if not exists {LOAD_STATE}.loaded_files "
                    "(table_name varchar primary key, digest varchar not null)")
        con.execute(f"create table if not exists {APPENDED_DAYS} (table_name varchar, "
                    "day date, rows bigint not null, value_hash hugeint not null, "
                    "primary key (table_name, day))")
        for raw_file in files:
            started = time.perf_counter()
            table = raw_file.table
            source = raw_file.path.name if raw_file.path else "absent (empty table)"
            digest = (file_digest(raw_file.path)
                      if raw_file.path is not None and table.appended_on is None else None)
            if appended_from and digest and digest == _loaded_digest(con, table):
                rows[table.name] = _table_rows(con, table)
                progress(f"kept   {table.name:<20} {rows[table.name]:>12,} rows: "
                         f"{source} unchanged since it was loaded")
                continue
            _record_digest(con, table, None)  # until the table holds the file's rows
            loaded = _load_table(con, raw_file, appended_from)
            _record_digest(con, table, digest)
            rows[table.name] = _table_rows(con, table)
            scope = (f" ({loaded:,} from {appended_from:%Y-%m-%d} on)"
                     if loaded != rows[table.name] else "")
            progress(f"loaded {table.name:<20} {rows[table.name]:>12,} rows"
                     f"{scope} from {source} in {time.perf_counter() - started:.1f}s")
    return rows
