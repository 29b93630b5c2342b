"""The raw input contract (../shared/spec/raw-contract.md) as data: the one place it is
written in code.

Tables, columns, types, keys, enumerations, codes and the rules that relate
columns live here. The loader types and normalises by it, the Great
Expectations suites and table checks are built from it, the generator's
schemas and the dbt sources (models/staging/_sources.yml) derive from it, and
tests compare the staging models with it.

It imports nothing of ours: the loader, the generator and validation all stand
on it, so none of them depends on another through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

RAW_SCHEMA = "raw"  # where the loader writes the typed raw tables

ColumnType = Literal["string", "integer", "decimal", "rate", "boolean", "date", "timestamp"]

# DuckDB types the loader gives each contract type. Money keeps more than two
# decimals so that nothing is rounded before the metrics round it.
DUCKDB_TYPES: dict[ColumnType, str] = {
    "string": "varchar",
    "integer": "bigint",
    "decimal": "decimal(18,6)",
    "rate": "decimal(18,10)",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class Code:
    """A code the contract names by standard, checked by shape (upper case)."""

    pattern: str
    standard: str


CURRENCY_CODE = Code(r"^[A-Z]{3}$", "ISO 4217")
COUNTRY_CODE = Code(r"^[A-Z]{2}$", "ISO 3166-1 alpha-2")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "string"
    required: bool = False
    primary_key: bool = False
    references: str | None = None  # "table.column"
    accepted_values: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    code: Code | None = None
    empty_means_zero: bool = False  # an empty discount or tax is 0
    open_enumeration: bool = False  # listed by example only, yet case-insensitive

    @property
    def case(self) -> Literal["lower", "upper"] | None:
        """How loading normalises the value: enumerations lower case, codes upper case
        (values are trimmed, empty cells NULL, whatever the case)."""
        if self.accepted_values or self.open_enumeration:
            return "lower"
        return "upper" if self.code else None


# Rules that relate columns of one row (checked on every row).
@dataclass(frozen=True)
class NotBefore:
    """`later` may not come before `earlier` (strictly after unless or_equal)."""

    later: str
    earlier: str
    or_equal: bool = True


@dataclass(frozen=True)
class RequiredWhen:
    """`column` is not null where `when_column` is one of `values`."""

    column: str
    when_column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class PresentExactlyWhen:
    """`column` is present where `when_column` = `value` and empty everywhere else."""

    column: str
    when_column: str
    value: str


@dataclass(frozen=True)
class InRange:
    """`column` lies in a range, on every row or where `when` = (column, value)."""

    column: str
    rule: str
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    when: tuple[str, str] | None = None


@dataclass(frozen=True)
class DerivedIn:
    """A value computed from the row (SQL over the raw table) lies in a set: for rules
    no single-column expectation states, reported under the contract column `about`."""

    name: str
    about: str
    sql: str
    allowed: tuple[float, ...]
    rule: str


RowRule = NotBefore | RequiredWhen | PresentExactlyWhen | InRange | DerivedIn


# Rules over a whole table (or two): computed in SQL by retain.validation.aggregates.
@dataclass(frozen=True)
class SumsOfLines:
    """Each (column, line column): the table's value = the sum of its lines' to the cent."""

    lines_table: str
    key: str
    sums: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FxCoverage:
    """A rate in fx_rates for every currency (and month) a conversion needs."""


@dataclass(frozen=True)
class VolumeDrop:
    """A warning beyond the contract: a period with far fewer rows than usual."""

    column: str
    period: Literal["day", "month"]


TableRule = SumsOfLines | FxCoverage | VolumeDrop


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    optional: bool = False
    unique_together: tuple[str, ...] = field(default_factory=tuple)
    row_rules: tuple[RowRule, ...] = ()
    table_rules: tuple[TableRule, ...] = ()
    # The timestamp new rows arrive in order of: an incremental run loads and
    # validates only the rows from its first recomputed day on.
    appended_on: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def primary_key(self) -> str | None:
        return next((column.name for column in self.columns if column.primary_key), None)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def _pk(name: str) -> Column:
    return Column(name, "string", required=True, primary_key=True)


SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "unpaid", "paused", "canceled")
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
LINE_TYPES = ("subscription", "usage", "one_time", "credit")
PRIORITIES = ("low", "normal", "high", "urgent")
BILLING_INTERVALS = ("month", "year")

TABLES: tuple[Table, ...] = (
    Table(
        "customers", "Accounts that buy the product, one row per customer.",
        (
            _pk("customer_id"),
            Column("customer_name"),
            Column("created_at", "timestamp", required=True),
            Column("country", code=COUNTRY_CODE),
            Column("segment"),
            Column("acquisition_channel"),
        ),
    ),
    Table(
        "plans", "Price list: one row per plan (product, billing interval, per-seat list price).",
        (
            _pk("plan_id"),
            Column("plan_name", required=True),
            Column("product_id", required=True),
            Column("billing_interval", required=True, accepted_values=BILLING_INTERVALS),
            Column("billing_interval_count", "integer", required=True, min_value=1),
            Column("unit_amount", "decimal", required=True, min_value=0),
            Column("currency", required=True, code=CURRENCY_CODE),
        ),
    ),
    Table(
        "subscriptions", "One row per subscription contract of a customer to a plan.",
        (
            _pk("subscription_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("plan_id", required=True, references="plans.plan_id"),
            Column("status", required=True, accepted_values=SUBSCRIPTION_STATUSES),
            Column("quantity", "integer", required=True, min_value=0),
            Column("created_at", "timestamp", required=True),
            Column("trial_start", "timestamp"),
            Column("trial_end", "timestamp"),
            Column("started_at", "timestamp"),
            Column("canceled_at", "timestamp"),
            Column("ended_at", "timestamp"),
            Column("cancel_reason"),
        ),
        row_rules=(NotBefore("trial_end", "trial_start"), NotBefore("ended_at", "created_at")),
    ),
    Table(
        "invoices", "One row per invoice issued to a customer.",
        (
            _pk("invoice_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("subscription_id", references="subscriptions.subscription_id"),
            Column("status", required=True, accepted_values=INVOICE_STATUSES),
            Column("currency", required=True, code=CURRENCY_CODE),
            Column("issued_at", "timestamp", required=True),
            Column("due_at", "timestamp"),
            Column("paid_at", "timestamp"),
            Column("subtotal", "decimal", required=True),
            Column("discount_amount", "decimal", min_value=0, empty_means_zero=True),
            Column("tax_amount", "decimal", min_value=0, empty_means_zero=True),
            Column("total", "decimal", required=True),
        ),
        row_rules=(
            NotBefore("due_at", "issued_at"),
            PresentExactlyWhen("paid_at", "status", "paid"),
            DerivedIn("total_off_by", "total",
                      "cast(round(total, 2) - round(subtotal - coalesce(discount_amount, 0) "
                      "+ coalesce(tax_amount, 0), 2) as double)",
                      (0,), "= subtotal - discount_amount + tax_amount to the cent"),
        ),
        table_rules=(
            SumsOfLines("invoice_line_items", "invoice_id",
                        (("subtotal", "amount"), ("discount_amount", "discount_amount"))),
            FxCoverage(),
            VolumeDrop("issued_at", "month"),
        ),
    ),
    Table(
        "invoice_line_items",
        "One row per invoice line (subscription, usage, one-time or credit).",
        (
            _pk("line_item_id"),
            Column("invoice_id", required=True, references="invoices.invoice_id"),
            Column("subscription_id", references="subscriptions.subscription_id"),
            Column("plan_id", references="plans.plan_id"),
            Column("line_type", required=True, accepted_values=LINE_TYPES),
            Column("period_start", "date"),
            Column("period_end", "date"),
            Column("quantity", "integer"),
            Column("amount", "decimal", required=True),
            Column("discount_amount", "decimal", min_value=0, empty_means_zero=True),
            Column("tax_amount", "decimal", min_value=0, empty_means_zero=True),
            Column("is_proration", "boolean", required=True),
        ),
        row_rules=(
            RequiredWhen("subscription_id", "line_type", ("subscription",)),
            RequiredWhen("plan_id", "line_type", ("subscription",)),
            RequiredWhen("period_start", "line_type", ("subscription", "usage")),
            RequiredWhen("period_end", "line_type", ("subscription", "usage")),
            NotBefore("period_end", "period_start", or_equal=False),
        ),
    ),
    Table(
        "users", "Optional. One row per user (seat holder) of a customer.",
        (
            _pk("user_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("created_at", "timestamp", required=True),
            Column("role"),
        ),
        optional=True,
    ),
    Table(
        "usage_events", "Optional. One row per product event; the largest table.",
        (
            _pk("event_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("user_id", references="users.user_id"),
            Column("event_name", required=True),  # free text, compared case-sensitively
            Column("occurred_at", "timestamp", required=True),
        ),
        optional=True,
        table_rules=(VolumeDrop("occurred_at", "day"),),
        appended_on="occurred_at",
    ),
    Table(
        "support_tickets", "Optional. One row per support ticket.",
        (
            _pk("ticket_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("user_id", references="users.user_id"),
            Column("opened_at", "timestamp", required=True),
            Column("first_response_at", "timestamp"),
            Column("resolved_at", "timestamp"),
            Column("priority", required=True, accepted_values=PRIORITIES),
            Column("channel", open_enumeration=True),  # e.g. email, chat, phone, web
            Column("category"),
            Column("csat_score", "integer", min_value=1, max_value=5),
        ),
        optional=True,
        row_rules=(NotBefore("first_response_at", "opened_at"),
                   NotBefore("resolved_at", "opened_at")),
    ),
    Table(
        "nps_responses", "Optional. One row per NPS survey response.",
        (
            _pk("response_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("user_id", references="users.user_id"),
            Column("responded_at", "timestamp", required=True),
            Column("score", "integer", required=True, min_value=0, max_value=10),
            Column("comment"),
        ),
        optional=True,
    ),
    Table(
        "fx_rates", "Optional. US dollars per unit of a currency, per month.",
        (
            Column("month", "date", required=True),
            Column("currency", required=True, code=CURRENCY_CODE),
            Column("usd_per_unit", "rate", required=True),
        ),
        optional=True,
        unique_together=("month", "currency"),
        row_rules=(
            InRange("usd_per_unit", "> 0", min_value=0, strict_min=True),
            InRange("usd_per_unit", "= 1 for USD", min_value=1, max_value=1,
                    when=("currency", "USD")),
            DerivedIn("day_of_month", "month", "extract(day from month)", (1,),
                      "the first day of a month"),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}


def appended_rows(table: Table, appended_from: datetime | None,
                  timestamp_sql: str | None = None) -> str | None:
    """SQL selecting the rows an incremental load writes into an appended table: those
    from appended_from on, and any without the timestamp (timestamp_sql: how to read
    it, by default its column, named bare as the contract's SQL names columns); None:
    every row."""
    if appended_from is None or table.appended_on is None:
        return None
    column = timestamp_sql or table.appended_on
    return f"({column} >= timestamp '{appended_from:%Y-%m-%d %H:%M:%S}' or {column} is null)"
