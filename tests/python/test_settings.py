"""One settings object: typed metric settings from the command line, retain.toml and
dbt_project.yml, read the same way by dbt, validation and Dagster."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.resources import RetainRun
from retain.cli import main
from retain.dbt import build_arguments, dbt_environment
from retain.incremental import run_plan, write_state
from retain.pipeline import fx_settings
from retain.publish import build_path
from retain.settings import (
    METRIC_SETTINGS,
    PROJECT_DIR,
    RUN_VARS,
    SettingError,
    Settings,
    dbt_project_vars,
    duckdb_config,
    memory_bytes,
    parsed_assignment,
    resolved_settings,
)
from tests.python.conftest import FIXTURES


def test_every_dbt_var_is_a_known_setting() -> None:
    assert set(dbt_project_vars()) - set(RUN_VARS) == set(METRIC_SETTINGS)


def test_defaults_are_the_dbt_project_vars() -> None:
    settings = Settings(as_of=date(2026, 12, 3))
    assert settings.dbt_vars() == {
        "as_of_date": "2026-12-03", "lookback_days": 3, "reporting_currency": "USD",
        "mrr_delinquency_days": 30, "mrr_include_usage": False, "ltv_gross_margin": 1.0,
        "active_event_names": [], "fx_rate_month": "invoice", "mrr_change_threshold": 0.5}


@pytest.mark.parametrize(("text", "expected"), [
    ("mrr_change_threshold=0", ("mrr_change_threshold", 0.0)),
    ("reporting_currency= eur ", ("reporting_currency", "EUR")),
    ("mrr_include_usage=True", ("mrr_include_usage", True)),
    ("active_event_names=login, report_created", ("active_event_names",
                                                  ["login", "report_created"])),
    ("mrr_delinquency_days=10", ("mrr_delinquency_days", 10)),
    ("fx_rate_month=latest", ("fx_rate_month", "latest")),
    ("ltv_gross_margin=0.8", ("ltv_gross_margin", 0.8)),
])
def test_assignments_are_typed(text: str, expected: tuple[str, object]) -> None:
    assert parsed_assignment(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("mrr_threshold=0", "unknown setting 'mrr_threshold'; known settings: active_event_names"),
    ("mrr_change_threshold=-1", "setting mrr_change_threshold='-1': expected an amount of 0"),
    ("mrr_delinquency_days=2.5", "expected a whole number of days"),
    ("fx_rate_month=daily", "expected invoice or latest"),
    ("ltv_gross_margin=0", "expected a share above 0 and at most 1"),
    ("reporting_currency=dollar", "expected a three-letter ISO 4217 code"),
    ("mrr_include_usage=yes", "expected true or false"),
    ("no_equals_sign", "expected name=value"),
])
def test_bad_assignments_name_the_setting_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(SettingError) as raised:
        parsed_assignment(text)
    assert message in str(raised.value)


def test_command_line_wins_over_the_settings_file(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("RETAIN_RAW_DIR", "RETAIN_DUCKDB_PATH", "RETAIN_VALIDATION_DIR"):
        monkeypatch.delenv(variable, raising=False)
    settings_file = tmp_path / "retain.toml"
    settings_file.write_text('[run]\nwarehouse = "/srv/retain/retain.duckdb"\n'
                             'as_of_date = 2026-11-30\n\n'
                             '[settings]\nmrr_change_threshold = 0\nreporting_currency = "eur"\n')

    from_file = resolved_settings(settings_file=settings_file)
    overridden = resolved_settings(settings_file=settings_file, as_of=date(2026, 12, 1),
                                   overrides={"reporting_currency": "GBP"})

    assert from_file.warehouse == Path("/srv/retain/retain.duckdb")
    assert from_file.validation_dir() == Path("/srv/retain/validation")
    assert from_file.as_of == date(2026, 11, 30)
    assert from_file.metrics()["mrr_change_threshold"] == 0.0
    assert from_file.metric("reporting_currency") == "EUR"
    assert overridden.as_of == date(2026, 12, 1)
    assert overridden.metric("reporting_currency") == "GBP"
    assert overridden.metric("mrr_change_threshold") == 0.0


def test_unknown_keys_in_the_settings_file_are_errors(tmp_path: Path) -> None:
    settings_file = tmp_path / "retain.toml"
    settings_file.write_text("[settings]\nmrr_threshold = 0\n")
    with pytest.raises(SettingError, match="unknown setting 'mrr_threshold'"):
        resolved_settings(settings_file=settings_file)


def test_validation_dbt_and_dagster_read_the_same_settings() -> None:
    resource = RetainRun(settings={"reporting_currency": "eur", "fx_rate_month": "latest"})
    settings = resource.run_settings(dg.build_asset_context(partition_key="2026-12-03"))
    fx = fx_settings(settings)
    arguments = build_arguments(settings, run_plan(settings))

    assert (fx.reporting_currency, fx.rate_month, fx.as_of) == ("EUR", "latest",
                                                                date(2026, 12, 3))
    assert '"reporting_currency": "EUR"' in arguments[-1]
    assert '"fx_rate_month": "latest"' in arguments[-1]


def test_cli_rejects_an_unknown_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--var", "mrr_threshold=0"])
    assert exited.value.code == 2
    assert "unknown setting 'mrr_threshold'" in capsys.readouterr().err


def test_the_example_settings_file_holds_the_defaults() -> None:
    example = resolved_settings(settings_file=PROJECT_DIR / "retain.example.toml",
                                as_of=date(2026, 12, 3))
    assert example.metrics() == Settings(as_of=date(2026, 12, 3)).metrics()
    assert example.kept_validation_runs == Settings().kept_validation_runs


def test_the_engine_comes_from_the_command_line_environment_or_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETAIN_ENGINE", raising=False)
    settings_file = tmp_path / "retain.toml"
    settings_file.write_text('[run]\nengine = "spark"\n')
    assert resolved_settings().engine == "duckdb"
    assert resolved_settings(settings_file=settings_file).engine == "spark"
    assert resolved_settings(settings_file=settings_file, engine="duckdb").engine == "duckdb"
    monkeypatch.setenv("RETAIN_ENGINE", "SPARK")
    spark = resolved_settings()
    assert (spark.engine, spark.dbt_target) == ("spark", "spark")
    # A Spark run never continues a build DuckDB made, and dbt builds on its target.
    spark = replace(spark, warehouse=tmp_path / "retain.duckdb", raw_dir=FIXTURES / "valid_small")
    build_path(spark.warehouse).parent.mkdir(parents=True)
    build_path(spark.warehouse).write_bytes(b"")  # stands for the build file a run kept
    write_state(replace(spark, engine="duckdb"))
    plan = run_plan(spark)
    assert not plan.incremental
    assert plan.reason == "the last run built on dbt target dev, this one builds on spark"
    assert build_arguments(spark, plan)[:6] == ["build", "--exclude-resource-type", "unit_test",
                                                "--full-refresh", "--target", "spark"]
    monkeypatch.setenv("RETAIN_ENGINE", "postgres")
    with pytest.raises(SettingError, match="engine='postgres': expected one of duckdb, spark"):
        resolved_settings()


def test_dagster_takes_the_engine_from_the_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETAIN_ENGINE", raising=False)
    context = dg.build_asset_context(partition_key="2026-12-03")
    assert RetainRun(engine="spark").run_settings(context).engine == "spark"
    assert RetainRun().run_settings(context).engine == "duckdb"


def test_validation_leaves_room_outside_duckdbs_memory_limit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RETAIN_DUCKDB_MEMORY_LIMIT", "6GiB")
    assert memory_bytes("6GiB") == 6 * 1024 ** 3
    assert memory_bytes("6026MB") == 6_026_000_000
    assert memory_bytes("a lot") is None
    assert duckdb_config(tmp_path)["memory_limit"] == "6GiB"
    assert duckdb_config(tmp_path, reserved=1024 ** 3)["memory_limit"] == "5120MiB"
    # Never below half the limit, however much is reserved.
    assert duckdb_config(tmp_path, reserved=10 * 1024 ** 3)["memory_limit"] == "3072MiB"


def test_dbt_writes_its_debug_log_only_when_asked(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    assert dbt_environment(tmp_path / "retain.duckdb")["DBT_LOG_LEVEL_FILE"] == "none"
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    assert dbt_environment(tmp_path / "retain.duckdb")["DBT_LOG_LEVEL_FILE"] == "debug"


def test_dbt_renders_the_same_profile_for_every_warehouse(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """dbt's partial parse holds only while the profile it renders (path, memory limit,
    spill folder) is unchanged: started in the build folder, dbt gets the same values
    for any two warehouses of one name; a spill folder set by hand stays as it is."""
    monkeypatch.delenv("RETAIN_DUCKDB_TEMP_DIR", raising=False)
    profile = ("RETAIN_DUCKDB_PATH", "RETAIN_DUCKDB_TEMP_DIR", "RETAIN_DUCKDB_MEMORY_LIMIT")
    first, second = ({name: dbt_environment(folder / ".build" / "retain.duckdb",
                                            in_its_folder=True)[name] for name in profile}
                     for folder in (tmp_path / "a", tmp_path / "b"))
    assert first == second
    assert first["RETAIN_DUCKDB_PATH"] == "retain.duckdb"
    assert first["RETAIN_DUCKDB_TEMP_DIR"] == "spill"
    assert dbt_environment(tmp_path / "a" / "retain.duckdb")["RETAIN_DUCKDB_PATH"] == str(
        tmp_path / "a" / "retain.duckdb")
    monkeypatch.setenv("RETAIN_DUCKDB_TEMP_DIR", str(tmp_path / "spill_here"))
    assert dbt_environment(tmp_path / "a" / "retain.duckdb", in_its_folder=True)[
        "RETAIN_DUCKDB_TEMP_DIR"] == str(tmp_path / "spill_here")
