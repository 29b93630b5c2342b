"""The raw input contract (../shared/spec/raw-contract.md) as data.

The loader, the validation suites and the tests read the tables, columns and
rules from here, so that the contract is written down once in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
class Column:
    name: str
    type: ColumnType = "string"
    required: bool = False
    primary_key: bool = False
    references: str | None = None  # "table.column"
    accepted_values: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    optional: bool = False
    unique_together: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def primary_key(self) -> str | None:
        return next((column.name for column in self.columns if column.primary_key), None)


def _pk(name: str) -> Column:
    return Column(name, "string", required=True, primary_key=True)


SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "unpaid", "paused", "canceled")
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
LINE_TYPES = ("subscription", "usage", "one_time", "credit")
PRIORITIES = ("low", "normal", "high", "urgent")
BILLING_INTERVALS = ("month", "year")

TABLES: tuple[Table, ...] = (
    Table(
        "customers",
        (
            _pk("customer_id"),
            Column("customer_name"),
            Column("created_at", "timestamp", required=True),
            Column("country"),
            Column("segment"),
            Column("acquisition_channel"),
        ),
    ),
    Table(
        "plans",
        (
            _pk("plan_id"),
            Column("plan_name", required=True),
            Column("product_id", required=True),
            Column("billing_interval", required=True, accepted_values=BILLING_INTERVALS),
            Column("billing_interval_count", "integer", required=True, min_value=1),
            Column("unit_amount", "decimal", required=True, min_value=0),
            Column("currency", required=True),
        ),
    ),
    Table(
        "subscriptions",
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
    ),
    Table(
        "invoices",
        (
            _pk("invoice_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("subscription_id", references="subscriptions.subscription_id"),
            Column("status", required=True, accepted_values=INVOICE_STATUSES),
            Column("currency", required=True),
            Column("issued_at", "timestamp", required=True),
            Column("due_at", "timestamp"),
            Column("paid_at", "timestamp"),
            Column("subtotal", "decimal", required=True),
            Column("discount_amount", "decimal", min_value=0),
            Column("tax_amount", "decimal", min_value=0),
            Column("total", "decimal", required=True),
        ),
    ),
    Table(
        "invoice_line_items",
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
            Column("discount_amount", "decimal", min_value=0),
            Column("tax_amount", "decimal", min_value=0),
            Column("is_proration", "boolean", required=True),
        ),
    ),
    Table(
        "users",
        (
            _pk("user_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("created_at", "timestamp", required=True),
            Column("role"),
        ),
        optional=True,
    ),
    Table(
        "usage_events",
        (
            _pk("event_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("user_id", references="users.user_id"),
            Column("event_name", required=True),
            Column("occurred_at", "timestamp", required=True),
        ),
        optional=True,
    ),
    Table(
        "support_tickets",
        (
            _pk("ticket_id"),
            Column("customer_id", required=True, references="customers.customer_id"),
            Column("user_id", references="users.user_id"),
            Column("opened_at", "timestamp", required=True),
            Column("first_response_at", "timestamp"),
            Column("resolved_at", "timestamp"),
            Column("priority", required=True, accepted_values=PRIORITIES),
            Column("channel"),
            Column("category"),
            Column("csat_score", "integer", min_value=1, max_value=5),
        ),
        optional=True,
    ),
    Table(
        "nps_responses",
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
        "fx_rates",
        (
            Column("month", "date", required=True),
            Column("currency", required=True),
            Column("usd_per_unit", "rate", required=True),
        ),
        optional=True,
        unique_together=("month", "currency"),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
