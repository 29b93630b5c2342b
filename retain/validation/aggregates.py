"""Table-level rules that no chunk of rows can decide, as DuckDB SQL.

Keys, relationships, sums over line items, fx coverage and volume need the
whole table (or two tables). DuckDB computes each as a small set of
offending items; retain.validation.validate turns their counts into one row that
GX validates, so that one GX report holds every check.

Every check's SQL returns rows of (item varchar, rows bigint): one per
offending value, with how many raw rows it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from retain.contract import (
    RAW_SCHEMA,
    Column,
    FxCoverage,
    SumsOfLines,
    Table,
    VolumeDrop,
    appended_rows,
)
from retain.sql import sql_identifier, sql_literal

# Beyond the contract, warnings only: a day's events against the usual count
# of the same weekday, a month's invoices against the month before.
QUIET_DAY_SHARE = 0.25
QUIET_DAY_MINIMUM_USUAL = 50
INVOICE_DROP_SHARE = 0.5
INVOICE_DROP_MINIMUM_PREVIOUS = 20


@dataclass(frozen=True)
class TableCheck:
    name: str  # column of the frame GX validates
    column: str | None  # contract column the rule is about
    rule: str  # what is expected, in words a person can act on
    sql: str
    blocking: bool = True  # a rule of the contract; False: a warning beyond it
    min_rows: int = 0
    max_rows: int | None = 0
    counting: str = "row(s) broke it"
    # The raw tables whose rows decide the count, and whether the as-of day does too.
    reads: frozenset[str] = frozenset()
    dated: bool = False


@dataclass(frozen=True)
class Increment:
    """What an incremental run loaded: the appended tables' rows from appended_from on,
    and every table not in unchanged (whose files differ from the last validated run)."""

    appended_from: datetime
    unchanged: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FxSettings:
    """The dbt vars that decide which fx rates a conversion needs (metrics.md)."""

    reporting_currency: str = "USD"
    rate_month: str = "invoice"  # or "latest"
    as_of: date | None = None  # rows from after this day do not exist yet


def relation(table: str) -> str:
    return f"{RAW_SCHEMA}.{sql_identifier(table)}"


def _volume(table: Table) -> TableCheck:
    return TableCheck(f"{table.name}_rows", None, "at least one row (a required table)",
                      f"select 'rows' as item, count(*) as rows from {relation(table.name)}",
                      min_rows=1, max_rows=None, counting="rows in the table",
                      reads=frozenset({table.name}))


def _duplicate_keys(table: Table, appended: str | None) -> TableCheck | None:
    """Keys held by more than one row; with appended (the rows an incremental load
    wrote), only the keys of those rows: the others were unique before."""
    names = [table.primary_key] if table.primary_key else list(table.unique_together)
    if not names:
        return None
    keys = [sql_identifier(name) for name in names]
    item = " || ' ' || ".join(f"cast({key} as varchar)" for key in keys)
    label = ", ".join(names)
    loaded = (f" and {keys[0]} in (select {keys[0]} from {relation(table.name)} "
              f"where {appended})" if appended else "")
    return TableCheck(
        f"duplicate_{'_'.join(names)}", label,
        f"({label}) unique", f"""
        select {item} || ' (' || count(*) || ' rows)' as item, count(*) as rows
        from {relation(table.name)}
        where {' and '.join(f'{key} is not null' for key in keys)}{loaded}
        group by {', '.join(keys)}
        having count(*) > 1""", reads=frozenset({table.name}))


def _orphans(table: Table, column: Column, appended: str | None) -> TableCheck:
    """Values without their parent row; with appended, in the rows an incremental load
    wrote (dbt's relationship tests still cover the whole table)."""
    parent_table, parent_name = str(column.references).split(".")
    child, parent = f"child.{sql_identifier(column.name)}", f"parent.{sql_identifier(parent_name)}"
    loaded = f" and {appended}" if appended else ""
    return TableCheck(
        f"orphan_{column.name}", column.name, f"exists in {column.references}", f"""
        select {child} || ' (' || count(*) || ' rows)' as item, count(*) as rows
        from {relation(table.name)} as child
        where {child} is not null{loaded}
          and not exists (select 1 from {relation(parent_table)} as parent
                          where {parent} = {child})
        group by {child}""", reads=frozenset({table.name, parent_table}))


def _sums_of_lines(table: Table, rule: SumsOfLines) -> list[TableCheck]:
    """A value of the table (an invoice's subtotal, discount) is the sum of its lines'."""
    key = sql_identifier(rule.key)
    checks = []
    for column, line_column in rule.sums:
        checks.append(TableCheck(
            f"{column}_differs_from_lines", column,
            f"= sum of its {rule.lines_table}.{line_column} to the cent", f"""
            with line_sums as (
                select {key} as {key},
                       sum(coalesce({sql_identifier(line_column)}, 0)) as lines_total
                from {relation(rule.lines_table)}
                group by 1
            )
            select parent.{key} || ': ' || round(coalesce(parent.{column}, 0), 2)
                   || ', lines ' || round(coalesce(line_sums.lines_total, 0), 2) as item,
                   1 as rows
            from {relation(table.name)} as parent
            left join line_sums on line_sums.{key} = parent.{key}
            where round(coalesce(parent.{column}, 0), 2)
               <> round(coalesce(line_sums.lines_total, 0), 2)""",
            reads=frozenset({table.name, rule.lines_table})))
    return checks


def _fx_coverage(fx: FxSettings) -> TableCheck:
    """A rate for every currency (and, by default, month) a conversion needs.

    Invoices in the reporting currency R need R's rate unless R is USD;
    every other currency needs its own rate and R's."""
    currency = sql_identifier("currency")
    reporting = fx.reporting_currency.strip().upper()
    existing = f"issued_at < timestamp '{fx.as_of + timedelta(days=1)}'" if fx.as_of else "true"
    needed = [currency] + ([sql_literal(reporting)] if reporting != "USD" else [])
    needs = " union all ".join(
        f"select {code} as currency, cast(date_trunc('month', issued_at) as date) as month "
        f"from {relation('invoices')} where {existing}" for code in needed)
    rate_currency = f"rate.{sql_identifier('currency')}"
    if fx.rate_month == "latest":
        as_of_month = f"date_trunc('month', date '{fx.as_of}')" if fx.as_of else "needs.month"
        matching, group, label = f"rate.month <= {as_of_month}", "needs.currency", "needs.currency"
        rule = "a rate in fx_rates at or before the as_of month for every currency"
    else:
        matching, group = "rate.month = needs.month", "needs.currency, needs.month"
        label = "needs.currency || ' ' || strftime(needs.month, '%Y-%m')"
        rule = "a rate in fx_rates for every currency and issued_at month"
    return TableCheck(
        "missing_fx_rate", "currency", rule, f"""
        with needs as ({needs})
        select {label} || ' (' || count(*) || ' invoices)' as item, count(*) as rows
        from needs
        where needs.currency <> 'USD'
          and not exists (select 1 from {relation('fx_rates')} as rate
                          where {rate_currency} = needs.currency and {matching})
        group by {group}""", reads=frozenset({"invoices", "fx_rates"}), dated=True)


def last_complete_day(as_of: date | None, today: date) -> date | None:
    """The last day the quiet-days check judges: the as-of day once it is over (before
    today, UTC), else the day before it; None without an as-of day."""
    if as_of is None:
        return None
    return as_of if as_of < today else as_of - timedelta(days=1)


def _quiet_days(table: Table, rule: VolumeDrop, through: date | None) -> TableCheck:
    """Days with far fewer events than usual, up to the last complete day through the
    as-of day: a feed that stopped days ago shows as quiet days, not as the end of the
    data. Without an as-of day, up to the day before the last event's."""
    end = (f"cast(date '{through + timedelta(days=1)}' as timestamp)" if through
           else "cast(max(day) as timestamp)")
    return TableCheck(
        "quiet_event_days", rule.column,
        f"no day with fewer than {QUIET_DAY_SHARE:.0%} of the events of the same weekday "
        "in the four weeks before", f"""
        with daily as (
            select cast({sql_identifier(rule.column)} as date) as day, count(*) as events
            from {relation(table.name)} group by 1
        ),
        days as (
            select cast(unnest(range(cast(min(day) as timestamp),
                                     {end}, interval 1 day)) as date) as day
            from daily
        ),
        compared as (
            select days.day, coalesce(daily.events, 0) as events,
                   median(coalesce(daily.events, 0)) over (
                       partition by dayofweek(days.day) order by days.day
                       rows between 4 preceding and 1 preceding) as usual
            from days left join daily on daily.day = days.day
        )
        select strftime(day, '%Y-%m-%d') || ': ' || events || ' events, usually '
               || cast(usual as bigint) as item, events as rows
        from compared
        where usual >= {QUIET_DAY_MINIMUM_USUAL} and events < {QUIET_DAY_SHARE} * usual""",
        blocking=False, counting="events on the flagged days", reads=frozenset({table.name}),
        dated=True)


def _monthly_drops(table: Table, rule: VolumeDrop) -> TableCheck:
    return TableCheck(
        "invoice_volume_drops", rule.column,
        f"no month with fewer than {INVOICE_DROP_SHARE:.0%} of the month before's invoices",
        f"""
        with monthly as (
            select cast(date_trunc('month', {sql_identifier(rule.column)}) as date) as month,
                   count(*) as invoices
            from {relation(table.name)} group by 1
        ),
        months as (
            select cast(unnest(range(cast(min(month) as timestamp), cast(max(month) as timestamp),
                                     interval 1 month)) as date) as month
            from monthly
        ),
        compared as (
            select months.month, coalesce(monthly.invoices, 0) as invoices,
                   lag(coalesce(monthly.invoices, 0)) over (order by months.month) as previous
            from months left join monthly on monthly.month = months.month
        )
        select strftime(month, '%Y-%m') || ': ' || invoices || ' invoices after ' || previous
               as item, invoices as rows
        from compared
        where previous >= {INVOICE_DROP_MINIMUM_PREVIOUS}
          and invoices < {INVOICE_DROP_SHARE} * previous""",
        blocking=False, counting="invoices in the flagged months", reads=frozenset({table.name}))


def _table_rule_checks(table: Table, rule: SumsOfLines | FxCoverage | VolumeDrop,
                       fx: FxSettings) -> list[TableCheck]:
    """The checks of one table rule of the contract."""
    match rule:
        case SumsOfLines():
            return _sums_of_lines(table, rule)
        case FxCoverage():
            return [_fx_coverage(fx)]
        case VolumeDrop(period="day"):
            return [_quiet_days(table, rule,
                                last_complete_day(fx.as_of, datetime.now(UTC).date()))]
        case VolumeDrop():
            return [_monthly_drops(table, rule)]


def table_checks(table: Table, absent_tables: frozenset[str], fx: FxSettings,
                 increment: Increment | None = None) -> list[TableCheck]:
    """The table-level checks of one present table; an absent parent is not checked.

    The last month of the data is left out of the volume warning, and the
    quiet-days warning stops at the last complete day: a month or day in
    progress is not a drop."""
    appended = appended_rows(table, increment.appended_from if increment else None)
    checks = [] if table.optional else [_volume(table)]
    duplicates = _duplicate_keys(table, appended)
    checks += [duplicates] if duplicates else []
    checks += [_orphans(table, column, appended) for column in table.columns
               if column.references and column.references.split(".")[0] not in absent_tables]
    for rule in table.table_rules:
        checks += _table_rule_checks(table, rule, fx)
    return checks


def carried_over(check: TableCheck, increment: Increment | None) -> bool:
    """Whether an incremental run takes check's result from the run it continues instead
    of computing it again: a blocking check that must find nothing (it found nothing
    then, or that run would not have published), whose every table holds the rows that
    run validated (files unchanged: Increment.unchanged) and that does not read the
    as-of day. The same SQL on the same rows finds the same nothing (the run plan's
    fingerprint covers this module: changed checks make the next run a full one)."""
    return (increment is not None and check.blocking and check.max_rows == 0
            and not check.dated and bool(check.reads)
            and check.reads <= increment.unchanged)
