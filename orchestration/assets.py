"""The pipeline of `retain run` as assets: raw tables, dbt models, the published warehouse.

Every step calls retain's own functions (load_raw, publish) or dbt, on the
build file beside the published warehouse; nothing is published unless the
raw tables passed their checks and `dbt build` (models and tests) succeeded.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.resources import RetainRun, environment, retried_when_locked
from retain.contract import RAW_SCHEMA, TABLES
from retain.dbt import build_arguments, dbt_environment
from retain.engines import StageError, engine_for
from retain.load import RawInputError
from retain.pipeline import load_step, publish_step, stage_step
from retain.publish import build_path

RAW_GROUP = "raw"
MART_GROUPS = ("core", "finance", "customer_success")


def raw_key(table: str) -> dg.AssetKey:
    """raw/<table>: the key dagster-dbt gives the dbt source of the same table."""
    return dg.AssetKey([RAW_SCHEMA, table])


def build_raw_tables(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Every raw table as an asset, loaded in one step."""

    @dg.multi_asset(
        name="raw_tables", partitions_def=partitions,
        specs=[dg.AssetSpec(raw_key(table.name), group_name=RAW_GROUP, kinds={"duckdb"},
                            description=f"raw.{table.name}: the {table.name} file of the raw "
                                        "folder, typed by retain.load"
                                        + (" (optional: empty when absent)" if table.optional
                                           else ""))
               for table in TABLES],
    )
    def raw_tables(context: dg.AssetExecutionContext, retain: RetainRun) -> Iterator[
            dg.MaterializeResult]:
        """Load every raw file, as `retain run` does first: into a fresh build file, or
        (an incremental run) into the kept one, usage events from the first recomputed day.

        One step for all tables: the loader writes them through one DuckDB
        connection. Input that breaks the contract fails the step; it is not retried.
        """
        settings = retain.run_settings(context)
        built = build_path(settings.warehouse)
        with retried_when_locked(built):
            try:
                rows = load_step(settings, context.run.run_id, context.log.info,
                                 retain.plan(settings))
            except RawInputError as error:
                raise dg.Failure(description=f"input rejected: {error}",
                                 metadata={"raw_dir": str(settings.raw_dir)},
                                 allow_retries=False) from error
        for table, count in rows.items():
            yield dg.MaterializeResult(asset_key=raw_key(table),
                                       metadata={"rows": count,
                                                 "raw_dir": str(settings.raw_dir),
                                                 "build_file": str(built)})

    return raw_tables


class RetainDbtTranslator(DagsterDbtTranslator):
    """Groups follow the dbt layers: staging, intermediate, and per mart folder
    (core, finance, customer_success)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        _, layer, *folders = dbt_resource_props["fqn"]
        return str(folders[0]) if layer == "marts" and len(folders) > 1 else str(layer)


def build_dbt_assets(project: DbtProject,
                     partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Every dbt model and seed as an asset, and every dbt test as an asset check."""

    @dbt_assets(manifest=project.manifest_path, project=project, name="retain_dbt",
                dagster_dbt_translator=RetainDbtTranslator(), partitions_def=partitions)
    def retain_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                   retain: RetainRun) -> Iterator[Any]:
        """`dbt build` with the run's settings and plan on its engine's target, in the
        environment `retain run` gives dbt (the run's DuckDB memory limit and spill folder),
        the validated raw tables staged for it first."""
        settings = retain.run_settings(context)
        built = build_path(settings.warehouse)
        if not built.exists():
            raise dg.Failure(description=f"nothing to build on: {built} does not exist; "
                                         "materialise the raw tables first",
                             allow_retries=False)
        with retried_when_locked(built):
            try:
                stage_step(settings, retain.plan(settings), context.log.info)
            except StageError as error:
                raise dg.Failure(description=str(error)) from error
            # Only dbt's start: in this process, DuckDB connections read the memory limit
            # from the environment, and would take the reserve off dbt's limit a second time.
            with environment(dbt_environment(built)):
                invocation = dbt.cli(build_arguments(settings, retain.plan(settings)),
                                     context=context)
            yield from invocation.stream()

    return retain_dbt


def build_publish_asset(marts: list[dg.AssetKey],
                        partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The published warehouse, downstream of every mart."""

    @dg.asset(key="published_warehouse", deps=marts, group_name="publish", kinds={"duckdb"},
              partitions_def=partitions)
    def published_warehouse(context: dg.AssetExecutionContext,
                            retain: RetainRun) -> dg.MaterializeResult:
        """Replace the published warehouse by the build file with one atomic rename.

        Runs only after `dbt build` succeeded; readers keep the previous
        snapshot until the rename.
        """
        settings = retain.run_settings(context)
        built = build_path(settings.warehouse)
        if not built.exists():
            raise dg.Failure(description=f"nothing to publish: {built} does not exist",
                             allow_retries=False)
        with retried_when_locked(built):
            publish_step(settings, context.run.run_id, context.log.info,
                         retain.plan(settings))
        engine = engine_for(settings)
        published = engine.published_location(settings)
        files = sorted(published.glob("*.parquet")) if published.is_dir() else [published]
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(published)),
            "format": engine.published_format,
            "as_of_date": settings.as_of.isoformat(),
            "bytes": sum(path.stat().st_size for path in files),
        })

    return published_warehouse


def mart_keys(dbt_models: dg.AssetsDefinition) -> list[dg.AssetKey]:
    return [spec.key for spec in dbt_models.specs if spec.group_name in MART_GROUPS]
