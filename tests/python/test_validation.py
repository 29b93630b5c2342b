"""Raw validation: a catalogue of bad inputs, each stopped with its own message
before dbt runs, and the published warehouse left exactly as it was."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import duckdb
import pytest

from retain.cli import main
from retain.contract import CURRENCY_CODE, TABLES, Column, RowRule, Table
from retain.load import absent_tables, load_raw
from retain.pipeline import ExitCode, RunReport, run_pipeline
from retain.settings import Settings
from retain.validation.aggregates import FxSettings, Increment, carried_over, table_checks
from retain.validation.frames import row_chunks, suspect_rows
from retain.validation.rules import column_checks, rule_check
from retain.validation.suites import row_suite
from retain.validation.validate import ValidationResult, _checkpoint, _gx_context, validate_raw
from tests.python.conftest import FIXTURES, csv_as_parquet

VALID_SMALL = FIXTURES / "valid_small"
AS_OF = date(2024, 3, 31)

Mutation = Callable[[Path], None]


@dataclass(frozen=True)
class LoadError:
    """The loader stops: the message names the file and what is wrong with it."""

    message: str


@dataclass(frozen=True)
class Expectation:
    """Exactly one blocking expectation fails: table, column and rule."""

    table: str
    column: str | None
    expected: str


def _raw_copy(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(VALID_SMALL, raw)
    return raw


def _validate(raw: Path, report_dir: Path) -> ValidationResult:
    warehouse = raw.parent / "loaded" / "retain.duckdb"
    load_raw(raw, warehouse)
    return validate_raw(warehouse, report_dir, absent=absent_tables(raw))


# Mutations of the valid fixture, one per kind of bad input.

def replace(table: str, old: str, new: str) -> Mutation:
    def mutate(raw: Path) -> None:
        path = raw / f"{table}.csv"
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1))
    return mutate


def append(table: str, line: str) -> Mutation:
    def mutate(raw: Path) -> None:
        with open(raw / f"{table}.csv", "a") as handle:
            handle.write(line + "\n")
    return mutate


def drop_line(table: str, prefix: str) -> Mutation:
    def mutate(raw: Path) -> None:
        path = raw / f"{table}.csv"
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(prefix)]
        assert len(kept) == len(lines) - 1, f"no single line starting {prefix!r} in {path}"
        path.write_text("".join(kept))
    return mutate


def edit_columns(table: str, drop: str | None = None, add: str | None = None) -> Mutation:
    def mutate(raw: Path) -> None:
        path = raw / f"{table}.csv"
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        names = [name for name in rows[0] if name != drop] + ([add] if add else [])
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, names, extrasaction="ignore", restval="x")
            writer.writeheader()
            writer.writerows(rows)
    return mutate


def write_bytes(name: str, content: Callable[[bytes], bytes]) -> Mutation:
    def mutate(raw: Path) -> None:
        path = raw / name
        path.write_bytes(content(path.read_bytes() if path.exists() else b""))
    return mutate


def to_parquet(table: str, keep_csv: bool = False, truncate: bool = False,
               types: dict[str, str] | None = None) -> Mutation:
    def mutate(raw: Path) -> None:
        parquet_path = csv_as_parquet(raw, table, types)
        if not keep_csv:
            (raw / f"{table}.csv").unlink()
        if truncate:
            parquet_path.write_bytes(parquet_path.read_bytes()[:-100])
    return mutate


def to_typed_parquet(table: str, types: dict[str, str], old: str, new: str) -> Mutation:
    """The table as Parquet with typed columns (`types`: column -> SQL type), after
    replacing old by new in its CSV text."""
    def mutate(raw: Path) -> None:
        replace(table, old, new)(raw)
        to_parquet(table, types=types)(raw)
    return mutate


HEADER = "customer_id,customer_name,created_at,country,segment,acquisition_channel\n"

CATALOGUE: list[tuple[str, Mutation, LoadError | Expectation]] = [
    ("missing column", edit_columns("subscriptions", drop="status"),
     LoadError("subscriptions.csv, column 'status': listed column(s) missing from the header")),
    ("duplicate key", append("customers", " cus_1 ,Acme again,2024-01-06T10:00:00Z,US,smb,web"),
     Expectation("customers", "customer_id", "(customer_id) unique")),
    ("orphan foreign key", replace("invoices", "inv_4,cus_2,", "inv_4,cus_9,"),
     Expectation("invoices", "customer_id", "exists in customers.customer_id")),
    ("orphan foreign key into an optional table",
     replace("usage_events", "evt_3,cus_2,usr_2", "evt_3,cus_2,usr_9"),
     Expectation("usage_events", "user_id", "exists in users.user_id")),
    ("unknown enum value", replace("invoices", ",open,EUR,", ",refunded,EUR,"),
     Expectation("invoices", "status", "one of draft, open, paid, void, uncollectible")),
    ("negative seat count", replace("subscriptions", "active,5,", "active,-5,"),
     Expectation("subscriptions", "quantity", ">= 0")),
    ("period_end before period_start",
     replace("invoice_line_items", "2024-01-05,2024-02-05", "2024-02-05,2024-01-05"),
     Expectation("invoice_line_items", "period_end", "> period_start")),
    ("invoice total off by a cent", replace("invoices", "4.50,49.50", "4.50,49.51"),
     Expectation("invoices", "total", "= subtotal - discount_amount + tax_amount to the cent")),
    ("subtotal not the sum of its lines",
     replace("invoice_line_items", "5,50.00,,,false", "5,45.00,,,false"),
     Expectation("invoices", "subtotal", "= sum of its invoice_line_items.amount to the cent")),
    ("paid invoice without paid_at",
     replace("invoices", "2024-01-19T10:00:00Z,2024-01-06T10:00:00Z", "2024-01-19T10:00:00Z,"),
     Expectation("invoices", "paid_at", "present when status is paid")),
    ("trial ending before it starts",
     replace("subscriptions", "2024-02-01T09:30:00Z,2024-02-15T09:30:00Z",
             "2024-02-15T09:30:00Z,2024-02-01T09:30:00Z"),
     Expectation("subscriptions", "trial_end", ">= trial_start")),
    ("response before the ticket was opened",
     replace("support_tickets", "2024-01-07T10:00:00Z,2024-01-07T11:00:00Z",
             "2024-01-07T10:00:00Z,2024-01-07T09:00:00Z"),
     Expectation("support_tickets", "first_response_at", ">= opened_at")),
    ("unparsable date",
     replace("invoice_line_items", "2024-01-24,2024-02-24", "24/01/2024,2024-02-24"),
     LoadError("invoice_line_items.csv, column 'period_start': 1 value(s) are not a valid date "
               "(sample bad value: '24/01/2024')")),
    ("wrong number format", replace("invoices", "18.00,0,3.42,21.42", '"18,00",0,3.42,21.42'),
     LoadError("invoices.csv, column 'subtotal': 1 value(s) are not a valid decimal "
               "(sample bad value: '18,00')")),
    ("typed Parquet amount beyond the contract's decimal",
     to_typed_parquet("invoices", {"subtotal": "decimal(18,2)"},
                      "18.00,0,3.42,21.42", "12345678901234.00,0,3.42,21.42"),
     LoadError("invoices.parquet, column 'subtotal': 1 value(s) are not a valid decimal "
               "(sample bad value: '12345678901234.00')")),
    ("empty file", write_bytes("customers.csv", lambda _: b""),
     LoadError("customers.csv: file is empty")),
    ("both CSV and Parquet for one table", to_parquet("users", keep_csv=True),
     LoadError("both users.csv and users.parquet exist")),
    ("missing fx rate", drop_line("fx_rates", "2024-02-01,eur"),
     Expectation("invoices", "currency", "a rate in fx_rates for every currency and issued_at "
                 "month")),
    ("USD rate other than 1", replace("fx_rates", "2024-01-01,USD,1", "2024-01-01,USD,1.01"),
     Expectation("fx_rates", "usd_per_unit", "= 1 for USD")),
    ("fx month not a first day", replace("fx_rates", "2024-01-01,USD", "2024-01-15,USD"),
     Expectation("fx_rates", "month", "the first day of a month")),
    ("score 11", replace("nps_responses", ",9,great", ",11,great"),
     Expectation("nps_responses", "score", ">= 0 and <= 10")),
    ("file not UTF-8", write_bytes("customers.csv", lambda old: old.decode().replace(
        "Acme Inc", "Acmé Müller").encode("latin-1")),
     LoadError("customers.csv: cannot be read: Invalid Input Error: CSV Error on Line: 2: "
               "Invalid unicode (byte sequence mismatch) detected. This file is not utf-8")),
    ("truncated Parquet file", to_parquet("invoices", truncate=True),
     LoadError("invoices.parquet: cannot be read:")),
]


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A previously published warehouse (any DuckDB file will do)."""
    warehouse = tmp_path / "warehouse" / "retain.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table fct_mrr as select 1 as customer_id, 9.99 as mrr")
    return warehouse


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize(("mutation", "outcome"), [case[1:] for case in CATALOGUE],
                         ids=[case[0] for case in CATALOGUE])
def test_bad_input_is_rejected_and_the_warehouse_unchanged(
        tmp_path: Path, published: Path, mutation: Mutation,
        outcome: LoadError | Expectation) -> None:
    raw = _raw_copy(tmp_path)
    mutation(raw)
    before = _fingerprint(published)

    report = run_pipeline(Settings(raw_dir=raw, warehouse=published, as_of=AS_OF,
                                   report_dir=tmp_path / "gx"), progress=lambda _: None)

    assert report.exit_code == ExitCode.INPUT_REJECTED
    assert _fingerprint(published) == before
    assert len(report.errors) == 1
    if isinstance(outcome, LoadError):
        assert report.validation is None
        assert outcome.message in report.errors[0]
    else:
        assert report.validation is not None
        failed = [(f.table, f.column, f.expected) for f in report.validation.blocking_failures]
        assert failed == [(outcome.table, outcome.column, outcome.expected)]
        assert report.validation.blocking_failures[0].line() in report.errors[0]


def test_valid_fixture_passes_with_values_the_contract_normalises(tmp_path: Path) -> None:
    # The fixture holds ` eur `, `Paid`, `Month`, `HIGH`, `de` and ` cus_2 `
    # as a foreign key: normalised by the contract, not errors.
    result = _validate(VALID_SMALL, tmp_path / "gx")

    assert result.failures == []
    assert result.rows["invoices"] == 5
    # Nothing for Great Expectations to decide: DuckDB found no row that may break a
    # row rule and every table check passed, so GX is not started and the results say
    # which checks ran (Data Docs only come with something to show, see below).
    results = json.loads((tmp_path / "gx" / "validation.json").read_text())
    passed = results["passed_without_great_expectations"]
    assert results["passed"] and "gx_validation_results" not in results
    assert sorted(passed) == sorted(table.name for table in TABLES)
    assert passed["invoices"]["rows"] == 5
    assert passed["invoices"]["rows_that_may_break_a_row_rule"] == 0
    assert passed["invoices"]["row_rules"] > 0
    assert {(check["rule"], check["observed"])
            for check in passed["invoice_line_items"]["table_checks"]} == {
        ("at least one row (a required table)", 6), ("(line_item_id) unique", 0),
        ("exists in invoices.invoice_id", 0), ("exists in subscriptions.subscription_id", 0),
        ("exists in plans.plan_id", 0)}
    assert not (tmp_path / "gx" / "data_docs").exists()
    assert "no data docs" in result.report_text()


# Catalogue cases that break a row rule: GX must see the rows they break.
ROW_RULE_CASES = ("unknown enum value", "negative seat count", "period_end before period_start",
                  "invoice total off by a cent", "paid invoice without paid_at",
                  "trial ending before it starts", "response before the ticket was opened",
                  "USD rate other than 1", "fx month not a first day", "score 11")


def test_rows_gx_never_sees_pass_every_row_expectation(tmp_path: Path) -> None:
    # GX validates only the rows suspect_rows selects; the rows it leaves out must
    # pass every row expectation, here on a fixture breaking every kind of row rule.
    raw = _raw_copy(tmp_path)
    for name, mutation, _ in CATALOGUE:
        if name in ROW_RULE_CASES:
            mutation(raw)
    warehouse = tmp_path / "loaded" / "retain.duckdb"
    load_raw(raw, warehouse)
    context = _gx_context(tmp_path / "gx")
    context.data_sources.add_pandas("raw")

    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in TABLES:
            unseen = f"not coalesce({suspect_rows(table)}, false)"
            [frame] = row_chunks(con, table, 1_000_000, unseen)
            [validation] = _checkpoint(context, row_suite(table), []).run(
                batch_parameters={"dataframe": frame}).run_results.values()

            assert len(frame) > 0, table.name
            assert validation.success, (table.name, [
                outcome.expectation_config.meta for outcome in validation.results
                if not outcome.success])
    # And the rows it sees break exactly the rules the cases broke.
    broken = {(f.table, f.column, f.expected) for f in validate_raw(
        warehouse, tmp_path / "report").blocking_failures}
    assert broken == {(outcome.table, outcome.column, outcome.expected)
                      for name, _, outcome in CATALOGUE if name in ROW_RULE_CASES
                      and isinstance(outcome, Expectation)}


# Every attribute of a contract column that states a rule over rows, with a value that
# sets it; NOT_ROW_RULES are checked elsewhere (references: a table check) or are
# conventions the loader applies.
COLUMN_RULES: dict[str, Any] = {
    "type": "integer", "required": True, "primary_key": True, "accepted_values": ("a", "b"),
    "code": CURRENCY_CODE, "min_value": 0, "max_value": 1,
}
NOT_ROW_RULES = {"name", "references", "empty_means_zero", "open_enumeration"}


def test_every_column_rule_selects_suspect_rows_and_has_an_expectation() -> None:
    assert {field.name for field in fields(Column)} == set(COLUMN_RULES) | NOT_ROW_RULES, (
        "a new Column attribute: add it to COLUMN_RULES (and to retain.validation.rules) "
        "or to NOT_ROW_RULES")
    table = Table("rules", "a table of one column", ())
    assert column_checks(table, Column("value")) == []
    for name, value in COLUMN_RULES.items():
        [check] = column_checks(table, Column("value", **{name: value}))
        # The type rule is about a frame's dtypes, which GX checks on every frame:
        # no row is suspect.
        assert bool(check.suspects) == (name != "type"), name
        assert check.expectations(), name


@pytest.mark.parametrize("kind", get_args(RowRule), ids=lambda kind: kind.__name__)
def test_every_row_rule_kind_selects_suspect_rows_and_has_an_expectation(kind: type) -> None:
    used = [(table, rule) for table in TABLES for rule in table.row_rules
            if isinstance(rule, kind)]
    assert used, f"no table of the contract uses {kind.__name__}"
    for table, rule in used:
        check = rule_check(table, rule)
        assert check.suspects, rule
        assert check.expectations(), rule


def test_an_empty_required_table_fails(tmp_path: Path) -> None:
    raw = _raw_copy(tmp_path)
    write_bytes("plans.csv", lambda old: old.split(b"\n")[0] + b"\n")(raw)

    failed = [(f.table, f.column, f.expected) for f in _validate(raw, tmp_path / "gx").failures]

    # Every plan_id elsewhere is then an orphan too.
    assert failed[0] == ("plans", None, "at least one row (a required table)")
    assert ("subscriptions", "plan_id", "exists in plans.plan_id") in failed


def test_extra_column_is_allowed(tmp_path: Path) -> None:
    raw = _raw_copy(tmp_path)
    edit_columns("invoices", add="purchase_order")(raw)

    assert _validate(raw, tmp_path / "gx").failures == []


def test_absent_optional_tables_are_not_checked(tmp_path: Path) -> None:
    raw = _raw_copy(tmp_path)
    for table in ("users", "support_tickets", "nps_responses"):
        (raw / f"{table}.csv").unlink()
    # usage_events still names users: a foreign key into an absent table is not checked.

    result = _validate(raw, tmp_path / "gx")

    assert result.failures == []
    assert "users" not in result.rows


def test_carried_over_are_the_checks_that_found_nothing_on_unchanged_tables() -> None:
    """An incremental run takes from the run it continues only the blocking table checks
    that must find nothing and read unchanged tables only, never the as-of day."""
    by_table = {table.name: table for table in TABLES}
    fx = FxSettings(as_of=date(2024, 3, 31))
    increment = Increment(datetime(2024, 3, 28), frozenset(
        {"customers", "subscriptions", "invoices", "fx_rates"}))
    carried = {check.name for check in table_checks(by_table["invoices"], frozenset(), fx,
                                                    increment)
               if carried_over(check, increment)}
    # Not: the row count (a count, not nothing), the sums of lines (the lines
    # changed), fx coverage (the as-of day), the monthly volume warning.
    assert carried == {"duplicate_invoice_id", "orphan_customer_id", "orphan_subscription_id"}
    assert not any(carried_over(check, None)
                   for check in table_checks(by_table["invoices"], frozenset(), fx))
    assert not any(carried_over(check, increment) for check in table_checks(
        by_table["usage_events"], frozenset(), fx, increment))


def test_an_incremental_validation_recomputes_the_checks_of_changed_tables(
        tmp_path: Path) -> None:
    """An invoice line added to an invoice whose file did not change: its sums check is
    computed again and blocks; the invoices' own key and parent checks are carried over
    and said so in validation.json."""
    raw = _raw_copy(tmp_path)
    append("invoice_line_items", "li_99,inv_1,sub_1,basic_monthly_usd,subscription,"
                                 "2024-01-05,2024-02-05,1,10.00,0,0,false")(raw)
    warehouse = tmp_path / "loaded" / "retain.duckdb"
    load_raw(raw, warehouse)
    unchanged = frozenset(table.name for table in TABLES
                          if table.name not in {"invoice_line_items", "usage_events"})
    result = validate_raw(warehouse, tmp_path / "gx", absent=absent_tables(raw),
                          increment=Increment(datetime(2024, 3, 28), unchanged))

    assert {(failure.table, failure.column) for failure in result.blocking_failures} == {
        ("invoices", "subtotal")}
    report = json.loads((tmp_path / "gx" / "validation.json").read_text())
    carried = report["carried_over_from_the_last_run"]
    assert {rule["column"] for rule in carried["invoices"]} == {
        "invoice_id", "customer_id", "subscription_id"}
    assert "invoice_line_items" not in carried and "usage_events" not in carried


def test_rows_are_validated_in_chunks_with_counts_summed(tmp_path: Path) -> None:
    raw = _raw_copy(tmp_path)
    lines = [f"evt_{n},cus_1,usr_1,login,2024-01-05T11:00:00Z" for n in range(10, 5010)]
    lines += [f"evt_{n},cus_1,usr_1,,2024-01-05T11:00:00Z" for n in (5010, 5011, 9999)]
    append("usage_events", "\n".join(lines))(raw)
    warehouse = tmp_path / "loaded" / "retain.duckdb"
    load_raw(raw, warehouse)

    result = validate_raw(warehouse, tmp_path / "gx", chunk_rows=2)

    [failure] = result.failures
    assert (failure.table, failure.column, failure.expected) == (
        "usage_events", "event_name", "not null")
    assert failure.rows == 3
    assert failure.samples == ["event_id=evt_5010 event_name=null",
                               "event_id=evt_5011 event_name=null",
                               "event_id=evt_9999 event_name=null"]


def test_a_quiet_day_warns_and_does_not_block(tmp_path: Path) -> None:
    raw = _raw_copy(tmp_path)
    start = datetime(2024, 1, 1, 12)
    lines = [f"evt_{day}_{n},cus_1,usr_1,login,{(start + timedelta(days=day)).isoformat()}Z"
             for day in range(42) for n in range(2 if day == 35 else 60)]
    append("usage_events", "\n".join(lines))(raw)

    result = _validate(raw, tmp_path / "gx")

    assert result.passed
    [warning] = result.warnings
    assert (warning.table, warning.column) == ("usage_events", "occurred_at")
    assert warning.samples == ["2024-02-05: 2 events, usually 60"]


def test_validate_command_prints_each_failure_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _raw_copy(tmp_path)
    replace("nps_responses", ",9,great", ",11,great")(raw)
    replace("subscriptions", "active,5,", "active,-5,")(raw)

    exit_code = main(["validate", "--raw", str(raw), "--report-dir", str(tmp_path / "gx")])

    err = capsys.readouterr().err
    assert exit_code == 2
    assert ("[blocking] subscriptions.quantity: expected >= 0; 1 row broke it; "
            "e.g. subscription_id=sub_1 quantity=-5") in err
    assert ("[blocking] nps_responses.score: expected >= 0 and <= 10; 1 row broke it; "
            "e.g. response_id=nps_1 score=11") in err


def test_generated_sample_passes(tmp_path: Path) -> None:
    generate = pytest.importorskip("retain.generate",
                                   reason="retain.generate (sample generator) not written yet")
    raw = tmp_path / "generated"
    generate.generate_raw_data(raw, customers=300, seed=7, end_date=date(2025, 6, 30), years=2,
                               file_format="csv", progress=lambda _: None)

    result = _validate(raw, tmp_path / "gx")

    assert result.blocking_failures == [], result.report_text()


def _run(raw: Path, published: Path, report_dir: Path, kept: int) -> RunReport:
    settings = Settings(raw_dir=raw, warehouse=published, as_of=AS_OF, report_dir=report_dir,
                        kept_validation_runs=kept)
    return run_pipeline(settings, progress=lambda _: None)


def test_every_rejected_run_is_explained_beside_the_warehouse(tmp_path: Path,
                                                              published: Path) -> None:
    report_dir = tmp_path / "validation"
    load_rejected = _raw_copy(tmp_path / "a")
    edit_columns("subscriptions", drop="status")(load_rejected)
    expectation_failed = _raw_copy(tmp_path / "b")
    replace("invoices", ",open,EUR,", ",refunded,EUR,")(expectation_failed)

    first = _run(load_rejected, published, report_dir, kept=2)
    first_dir = report_dir / "runs" / first.run_id
    results = json.loads((first_dir / "validation.json").read_text())
    first_text = (first_dir / "report.txt").read_text()
    second = _run(expectation_failed, published, report_dir, kept=2)
    second_dir = report_dir / "runs" / second.run_id
    third = _run(VALID_SMALL, published, report_dir, kept=2)

    assert first.exit_code == second.exit_code == ExitCode.INPUT_REJECTED
    assert (results["stage"], results["passed"]) == ("load", False)
    [failure] = results["blocking_failures"]
    assert (failure["table"], failure["column"]) == ("subscriptions", "status")
    assert "subscriptions.csv" in failure["observed"]
    assert "listed column(s) missing from the header: status" in first_text
    second_text = (second_dir / "report.txt").read_text()
    assert "[blocking] invoices.status" in second_text
    assert (second_dir / "data_docs" / "index.html").is_file()
    # Two runs kept, the newest is latest; the first run's folder is gone.
    assert third.validation is not None and third.validation.passed
    assert sorted(path.name for path in (report_dir / "runs").iterdir()) == sorted(
        [second.run_id, third.run_id])
    assert (report_dir / "latest").resolve() == (report_dir / "runs" / third.run_id).resolve()
    assert "raw validation passed" in (report_dir / "latest" / "report.txt").read_text()
