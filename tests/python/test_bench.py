"""The benchmark's verdicts on the issue's targets, from measured stages."""

from __future__ import annotations

from datetime import date

import pytest

from retain.settings import configured_memory_limit
from tools.bench import GIB, Stage, TierResult, results_section, targets_lines


def _tier(customers: int, peak_gib: float, incremental_peak_gib: float,
          memory_limit: str) -> TierResult:
    stages = [Stage(name, 10.0, int(peak_gib * GIB)) for name in ("load", "dbt build")]
    incremental = [Stage("dbt build", 2.0, int(incremental_peak_gib * GIB))]
    return TierResult(customers, 1.0, {}, stages, incremental, memory_limit=memory_limit)


def _memory_line(tier: TierResult) -> str:
    [line] = [line for line in targets_lines([tier]) if "peak RSS" in line]
    return line


def test_each_target_is_a_ratio_of_this_run_s_own_floor() -> None:
    # 100k: floor 2 s; full run 50 s = 25x (<= 30), dbt build 40 s = 20x (> 15), daily
    # run 20 s = 10x (<= 12). 1M: floor 10 s; full run 600 s = 60x (> 50), 12x the 100k
    # run's 50 s (<= 12), daily 90 s = 9x (<= 10).
    small = TierResult(100_000, 2.0, {}, [Stage("load", 10.0, GIB), Stage("dbt build", 40.0, GIB)],
                       [Stage("dbt build", 20.0, GIB)], memory_limit="6GiB")
    large = TierResult(1_000_000, 10.0, {}, [Stage("dbt build", 600.0, 2 * GIB, 3 * GIB)],
                       [Stage("dbt build", 90.0, GIB)], memory_limit="6GiB")
    assert targets_lines([small, large]) == [
        "- full run at 100,000 customers: 25.0x the floor (target <= 30x): met",
        "- dbt build at 100,000 customers: 20.0x the floor (target <= 15x): **missed**",
        "- daily incremental run at 100,000 customers: 10.0x the floor (target <= 12x): met",
        "- full run at 1,000,000 customers: 60.0x the floor (target <= 50x): **missed**",
        "- daily incremental run at 1,000,000 customers: 9.0x the floor (target <= 10x): met",
        "- full run from 100,000 to 1,000,000 customers: 12.0x the time (target <= 12x): met",
        "- 1,000,000 customers completed; peak RSS 2.00 GiB (target < memory limit 6GiB + "
        "1 GiB), most spilled 3.0 GiB: met",
    ]


def test_a_heavier_tier_is_judged_on_memory_only() -> None:
    heavy = TierResult(500_000, 5.0, {}, [Stage("dbt build", 900.0, int(7.5 * GIB))],
                       memory_limit="6GiB", events_scale=2)
    assert targets_lines([heavy]) == [
        "- 500,000 customers, 2x the events completed; peak RSS 7.50 GiB (target < memory "
        "limit 6GiB + 1 GiB), most spilled 0.0 GiB: **missed**"]


def test_memory_target_is_the_limit_plus_one_gib_over_both_runs() -> None:
    assert _memory_line(_tier(1_000_000, 6.5, 6.0, "6GiB")).endswith(": met")
    # 6GiB + 1 GiB = 7 GiB: the daily run's peak counts as much as the full run's.
    assert _memory_line(_tier(1_000_000, 6.5, 7.1, "6GiB")).endswith("**missed**")
    assert "peak RSS 7.10 GiB" in _memory_line(_tier(1_000_000, 6.5, 7.1, "6GiB"))


def test_the_default_memory_limit_is_the_one_a_run_uses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETAIN_DUCKDB_MEMORY_LIMIT", raising=False)
    # A quarter of RAM, written in DuckDB's units, never empty.
    assert configured_memory_limit().endswith("MB")
    monkeypatch.setenv("RETAIN_DUCKDB_MEMORY_LIMIT", "3GiB")
    assert configured_memory_limit() == "3GiB"


def test_a_spark_tier_is_reported_beside_duckdb_and_judged_on_no_target() -> None:
    """The Spark tier of `make bench` (--spark-tiers): its full and daily run, its full
    rebuild of the daily run's day and the comparisons in its section; the issue's targets
    are DuckDB's."""
    spark = TierResult(100_000, 2.0, {}, [Stage("dbt build", 200.0, GIB)],
                       [Stage("dbt build", 100.0, GIB)], engine="spark",
                       rebuild_stages=[Stage("dbt build", 150.0, GIB)],
                       comparisons=["Daily run's interface tables identical to a full "
                                    "rebuild on the same engine: 25 of 25"])
    assert targets_lines([spark]) == []
    section = results_section([spark], date(2026, 11, 30), 42)
    assert "### 100,000 customers, Spark (Thrift server of the local cluster)" in section
    assert "dbt-spark " in section and "pyspark " in section
    assert ("Full rebuild as of the daily run's day: dbt build 150.0 s; total 150.0 s "
            "(75.0x the floor).") in section
    assert "- Daily run's interface tables identical to a full rebuild on the same engine: " \
           "25 of 25" in section
