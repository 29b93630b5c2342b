"""The benchmark's verdicts on the issue's targets, from measured stages."""

from __future__ import annotations

import pytest

from retain.settings import configured_memory_limit
from tools.bench import GIB, Stage, TierResult, targets_lines


def _tier(customers: int, peak_gib: float, incremental_peak_gib: float,
          memory_limit: str) -> TierResult:
    stages = [Stage(name, 10.0, int(peak_gib * GIB)) for name in ("load", "dbt build")]
    incremental = [Stage("dbt build", 2.0, int(incremental_peak_gib * GIB))]
    return TierResult(customers, 1.0, {}, stages, incremental, memory_limit=memory_limit)


def _memory_line(tier: TierResult) -> str:
    [line] = [line for line in targets_lines([tier]) if "1,000,000" in line]
    return line


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
