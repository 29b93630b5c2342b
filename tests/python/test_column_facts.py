"""macros/test_column_facts.sql against dbt's own not_null, unique and accepted_values,
and against plain SQL for the facts dbt has no test of (a month never after the as_of
month, a unique combination of columns).

One `dbt compile --inline` (no warehouse opened) renders the column_facts test
and dbt's per-column tests over a small table; DuckDB then runs them on several
versions of the table: column_facts must name exactly the facts whose dbt test
returns rows. Cheaper than a dbt project built per case (one dbt start-up,
~10 s), and it checks the SQL the build runs: the same macros, the same
rendering. Spark parity comes from `make spark-test`, whose build runs every
model's column_facts test on Spark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from retain.settings import PROJECT_DIR, QUIET_ENVIRONMENT

DBT = str(Path(sys.executable).with_name("dbt"))
SEPARATOR = "-- next query"
TABLE = ("create table probe (id integer, kind varchar, level integer, flag boolean, "
         "code varchar, note varchar, month date)")
# The as_of day the probe is compiled with: its month is 2024-03.
AS_OF = "2024-03-15"
# The facts, and dbt's test of each (None: no dbt test renders it; dbt's
# accepted_values does not escape quotes).
COLUMN_FACTS = ("{{ test_column_facts(model='probe', not_null=['id', 'kind'], "
                "accepted_values={'kind': ['a', 'b'], 'level': [1, 2], 'flag': [true], "
                "'note': [\"it's\"]}, unique=['id', 'code'], not_after_as_of_month=['month'], "
                "unique_combination=['flag', 'code']) }}")
DBT_TESTS = {
    "not_null(id)": "{{ test_not_null(model='probe', column_name='id') }}",
    "not_null(kind)": "{{ test_not_null(model='probe', column_name='kind') }}",
    "accepted_values(kind)": ("{{ test_accepted_values(model='probe', column_name='kind', "
                              "values=['a', 'b']) }}"),
    "accepted_values(level)": ("{{ test_accepted_values(model='probe', column_name='level', "
                               "values=[1, 2], quote=false) }}"),
    "accepted_values(flag)": ("{{ test_accepted_values(model='probe', column_name='flag', "
                              "values=[true], quote=false) }}"),
    "accepted_values(note)": None,
    "unique(id)": "{{ test_unique(model='probe', column_name='id') }}",
    "unique(code)": "{{ test_unique(model='probe', column_name='code') }}",
    "not_after_as_of_month(month)": "select month from probe where month > date '2024-03-01'",
    "unique_combination(flag, code)": ("select flag, code from probe group by flag, code "
                                       "having count(*) > 1"),
}
TABLES = {
    # NULLs break only not_null: accepted_values and unique ignore them, as dbt's do.
    "clean": [(1, "a", 1, True, "x", "it's", "2024-03-01"), (2, "b", None, None, None, None, None),
              (3, "a", 2, True, None, "it's", "2024-02-01")],
    "empty": [],
    "broken": [(1, "a", 1, True, "x", "it's", "2024-04-01"),
               (1, "c", 3, False, "x", "its", "2024-03-01"),
               (None, None, 3, True, "y", None, "2024-05-01"),
               (None, "b", 2, True, "y", None, None)],
}
# failing_rows of the broken table: rows that break each fact (for unique: rows
# beyond the first of each repeated value).
BROKEN = {"not_null(id)": 2, "not_null(kind)": 1, "accepted_values(kind)": 1,
          "accepted_values(level)": 2, "accepted_values(flag)": 1,
          "accepted_values(note)": 1, "unique(id)": 1, "unique(code)": 2,
          "not_after_as_of_month(month)": 2, "unique_combination(flag, code)": 1}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """column_facts' SQL under "column_facts", dbt's tests' under each fact."""
    rendered = [name for name, test in DBT_TESTS.items() if test]
    inline = f"\n{SEPARATOR}\n".join(
        [COLUMN_FACTS, *(DBT_TESTS[name] or "" for name in rendered)])
    env = {**os.environ, **QUIET_ENVIRONMENT, "DBT_PROFILES_DIR": str(PROJECT_DIR)}
    result = subprocess.run(
        [DBT, "compile", "--quiet", "--target", "lint", "--project-dir", str(PROJECT_DIR),
         "--vars", f"{{as_of_date: '{AS_OF}'}}",
         "--target-path", str(tmp_path_factory.mktemp("column_facts_target")),
         "--inline", inline],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    queries = result.stdout.split(SEPARATOR)
    assert len(queries) == 1 + len(rendered), result.stdout
    return dict(zip(["column_facts", *rendered], queries, strict=True))


def _run(compiled: dict[str, str], rows: list[tuple]) -> tuple[dict[str, int], set[str]]:
    """(column_facts' failing rows by fact, facts whose dbt test returns rows)."""
    with duckdb.connect() as con:
        con.execute(TABLE)
        if rows:
            con.executemany("insert into probe values (?, ?, ?, ?, ?, ?, ?)", rows)
        facts = dict(con.execute(compiled["column_facts"]).fetchall())
        failing = {name for name, sql in compiled.items()
                   if name != "column_facts" and con.execute(sql).fetchall()}
    return facts, failing


@pytest.mark.parametrize("table", sorted(TABLES))
def test_column_facts_fail_where_dbts_tests_fail(compiled: dict[str, str], table: str) -> None:
    facts, failing = _run(compiled, TABLES[table])
    assert {fact for fact in facts if DBT_TESTS[fact]} == failing
    assert facts == (BROKEN if table == "broken" else {})
