"""Project hygiene: every model and column described, lineage from sources to marts
only, interface contracts enforced, the semantic layer documented, the README
glossary in step with the dbt docs.

The manifest comes from `dbt parse` against the in-memory `lint` target (no
warehouse opened); the column check compares it with a built fixture warehouse,
so that a column a model selects but its yml forgets is caught too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from retain.glossary import readme_section, render_glossary
from retain.interface import INTERFACE_RELATIONS, PUBLISHED_RELATIONS, published_models
from retain.meta import META_RELATION
from retain.settings import PROJECT_DIR, QUIET_ENVIRONMENT
from tests.python.conftest import FIXTURES, BuildWarehouse, query

DBT = str(Path(sys.executable).with_name("dbt"))
REQUIRED_METRICS = (
    "mrr", "arr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
    "reactivation_mrr", "paying_customers", "logo_churn_rate", "nrr_monthly", "nrr_12m",
    "grr_12m", "arpa", "ltv", "onboarding_completion_rate", "nps", "monthly_active_users",
)
REQUIRED_EXPOSURES = ("finance_mrr_report", "cs_health_dashboard", "churn_risk_worklist")
REQUIRED_SAVED_QUERIES = ("monthly_revenue_bridge", "nrr_grr_trend", "churn_by_segment",
                          "onboarding_completion_by_cohort")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("hygiene_target")
    env = {**os.environ, **QUIET_ENVIRONMENT, "DBT_PROFILES_DIR": str(PROJECT_DIR)}
    result = subprocess.run(
        [DBT, "parse", "--target", "lint", "--project-dir", str(PROJECT_DIR),
         "--target-path", str(target), "--no-partial-parse"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((target / "manifest.json").read_text())


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["package_name"] == "retain"}


def test_every_model_and_documented_column_has_a_description(manifest: dict) -> None:
    missing = []
    for name, node in sorted(_models(manifest).items()):
        if not node["description"].strip():
            missing.append(f"model {name}")
        missing += [f"column {name}.{column}" for column, spec in node["columns"].items()
                    if not spec["description"].strip()]
    assert not missing, "undescribed:\n" + "\n".join(missing)


def test_every_built_column_is_in_the_models_yml(manifest: dict,
                                                 build_warehouse: BuildWarehouse) -> None:
    """Columns a model selects but its yml does not describe (caught on a built warehouse)."""
    warehouse = build_warehouse(FIXTURES / "customer_success", date(2024, 6, 15))
    built: dict[str, set[str]] = {}
    for table, column in query(warehouse, "select table_name, column_name "
                                          "from information_schema.columns"):
        built.setdefault(table, set()).add(column.lower())
    undocumented = []
    for name, node in sorted(_models(manifest).items()):
        documented = {column.lower() for column in node["columns"]}
        undocumented += [f"{name}.{column}" for column in sorted(built.get(name, set())
                                                                 - documented)]
    assert not undocumented, "columns without a yml entry:\n" + "\n".join(undocumented)


def _layer(node: dict[str, Any]) -> str:
    """The folder under models/ ("staging", "intermediate", "marts", ...)."""
    parts = Path(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" else ""


def test_lineage_points_one_way_from_sources_to_marts(manifest: dict) -> None:
    """Staging reads only sources; staging and intermediate never read a mart.

    Marts are the published interface put together from the building blocks;
    a building block that read one would tie itself to a published contract
    and let a change to a mart reach the models that the mart is built from.
    """
    nodes = manifest["nodes"]
    models = [node for node in _models(manifest).values()
              if _layer(node) in ("staging", "intermediate")]
    # Guard against a folder move that would leave nothing to check.
    assert {_layer(node) for node in models} == {"staging", "intermediate"}
    wrong = []
    for node in sorted(models, key=lambda node: node["name"]):
        for upstream in node["depends_on"]["nodes"]:
            if _layer(node) == "staging" and not upstream.startswith("source."):
                wrong.append(f"{node['name']} (staging) reads {upstream}, not a source")
            elif upstream in nodes and _layer(nodes[upstream]) == "marts":
                wrong.append(f"{node['name']} ({_layer(node)}) reads the mart {upstream}")
    assert not wrong, "lineage against the layers:\n" + "\n".join(wrong)


def test_the_published_set_is_the_models_meta(manifest: dict) -> None:
    """retain.interface reads the models' yml; dbt's manifest must say the same."""
    in_manifest = {name: node["config"]["meta"]["published"]
                   for name, node in _models(manifest).items()
                   if "published" in node["config"].get("meta", {})}
    assert in_manifest == dict(published_models())
    assert set(INTERFACE_RELATIONS) | {"metrics_revenue_by_segment_monthly"} <= set(
        PUBLISHED_RELATIONS)
    assert all(_layer(_models(manifest)[name]) == "marts" for name in PUBLISHED_RELATIONS)


def test_the_dashboard_reads_only_published_relations() -> None:
    """Every relation the dashboard's SQL names, and its dbt exposure, is published."""
    source = (PROJECT_DIR / "retain" / "dashboard" / "data.py").read_text()
    # Relation names in SQL strings (snake_case after from/join), and named constants.
    named = set(re.findall(r"\b(?:from|join)\s+([a-z]+_[a-z_]+)\b", source))
    named |= set(re.findall(r'^[A-Z_]+ = "([a-z_]+)"$', source, re.MULTILINE))
    named -= {"information_schema"}
    exposures = yaml.safe_load((PROJECT_DIR / "models" / "exposures.yml").read_text())
    [dashboard] = [e for e in exposures["exposures"] if e["name"] == "retain_dashboard"]
    exposed = {re.sub(r"ref\('([a-z_]+)'\)", r"\1", ref) for ref in dashboard["depends_on"]}
    assert named, "the pattern must find the dashboard's relations"
    assert named - {META_RELATION} <= set(PUBLISHED_RELATIONS), named - set(PUBLISHED_RELATIONS)
    assert exposed <= set(PUBLISHED_RELATIONS)
    assert named - {META_RELATION} <= exposed


def test_every_interface_model_has_an_enforced_contract(manifest: dict) -> None:
    models = _models(manifest)
    absent = [name for name in INTERFACE_RELATIONS if name not in models]
    unenforced = [name for name in INTERFACE_RELATIONS
                  if name in models and not models[name]["contract"]["enforced"]]
    assert not absent, f"interface models missing: {absent}"
    assert not unenforced, f"interface models without an enforced contract: {unenforced}"


def test_semantic_layer_defines_the_shared_metrics(manifest: dict) -> None:
    metrics = {metric["name"]: metric for metric in manifest["metrics"].values()}
    assert not [name for name in REQUIRED_METRICS if name not in metrics]
    for name, metric in metrics.items():
        meta = metric["config"].get("meta") or {}
        assert metric["description"].strip(), f"metric {name} has no description"
        assert meta.get("grain") and meta.get("table"), f"metric {name} lacks meta grain/table"
    saved_queries = {query["name"] for query in manifest["saved_queries"].values()}
    assert set(REQUIRED_SAVED_QUERIES) <= saved_queries
    time_spines = [node for node in _models(manifest).values() if node.get("time_spine")]
    assert time_spines, "no model is configured as the MetricFlow time spine"


def test_exposures_name_the_marts_they_read(manifest: dict) -> None:
    exposures = {exposure["name"]: exposure for exposure in manifest["exposures"].values()}
    models = _models(manifest)
    for name in REQUIRED_EXPOSURES:
        assert name in exposures, f"exposure {name} missing"
        read = exposures[name]["depends_on"]["nodes"]
        assert read, f"exposure {name} names no model"
        assert all(node.split(".")[-1] in models for node in read)
        assert exposures[name]["description"].strip()


def test_readme_glossary_matches_the_dbt_docs(manifest: dict) -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    assert "## Metric glossary" in readme
    assert readme_section(readme) == render_glossary(manifest), (
        "README.md's metric glossary differs from the dbt docs: run `make glossary` "
        "(dbt parse, then .venv/bin/python -m retain.glossary --write) and commit README.md")


# Tests that one column_facts test per model or seed (macros/test_column_facts.sql) holds
# instead: one node per relation rather than one per fact.
FOLDED_TESTS = ("not_null", "unique", "accepted_values", "not_after_as_of_month",
                "unique_combination")
# Every fact tested at these commits is tested now: the last with only per-column tests,
# and the last with separate unique_combination, not_after_as_of_month and seed tests.
FACTS_BASELINE_COMMITS = ("79d0f1da50fd93eae2f6ac4e72b67d85d515ca2a",
                          "4fcba79de3f78c67f841c0579fba19a083d79d67")

# (model or seed, test, column or columns joined by commas, accepted values)
Fact = tuple[str, str, str, tuple[Any, ...] | None]


def _generic_tests(manifest: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(tested model or seed, test name, arguments with column_name) of each generic test."""
    return [(node["attached_node"].split(".")[-1], node["test_metadata"]["name"],
             node["test_metadata"]["kwargs"])
            for node in manifest["nodes"].values()
            if node["resource_type"] == "test" and node.get("test_metadata")
            and node.get("attached_node")]


def _column_facts(resource: str, arguments: dict[str, Any]) -> set[Fact]:
    combination = arguments.get("unique_combination") or []
    return ({(resource, "not_null", column, None) for column in arguments.get("not_null", [])}
            | {(resource, "unique", column, None) for column in arguments.get("unique", [])}
            | {(resource, "accepted_values", column, tuple(values))
               for column, values in (arguments.get("accepted_values") or {}).items()}
            | {(resource, "not_after_as_of_month", column, None)
               for column in arguments.get("not_after_as_of_month", [])}
            | ({(resource, "unique_combination", ",".join(combination), None)}
               if combination else set()))


def _folded_fact(resource: str, test: str, column: str | None,
                 arguments: dict[str, Any]) -> Fact:
    """The fact of a test column_facts now holds, written as a test of its own."""
    if test == "unique_combination":
        return (resource, test, ",".join(arguments["columns"]), None)
    values = tuple(arguments["values"]) if test == "accepted_values" else None
    return (resource, test, str(column), values)


def _facts_in_manifest(manifest: dict[str, Any]) -> set[Fact]:
    facts: set[Fact] = set()
    for resource, test, arguments in _generic_tests(manifest):
        if test == "column_facts":
            facts |= _column_facts(resource, arguments)
        elif test in FOLDED_TESTS:
            facts.add(_folded_fact(resource, test, arguments.get("column_name"), arguments))
    return facts


def _facts_in_yml(document: dict[str, Any]) -> set[Fact]:
    """The facts a properties yml tests, read from the file (as at an older commit)."""
    facts: set[Fact] = set()
    for resource in document.get("models", []) + document.get("seeds", []):
        tests = [(None, test) for test in resource.get("data_tests") or []] + [
            (column["name"], test) for column in resource.get("columns") or []
            for test in column.get("data_tests") or column.get("tests") or []]
        for column, test in tests:
            name = test if isinstance(test, str) else next(iter(test))
            arguments = {} if isinstance(test, str) else test[name] or {}
            arguments = arguments.get("arguments", arguments)
            if name == "column_facts":
                facts |= _column_facts(resource["name"], arguments)
            elif name in FOLDED_TESTS and (column or name == "unique_combination"):
                facts.add(_folded_fact(resource["name"], name, column, arguments))
    return facts


def _tested_relations(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The project's models and seeds, by name."""
    return {node["name"]: node for node in manifest["nodes"].values()
            if node["resource_type"] in ("model", "seed") and node["package_name"] == "retain"}


def test_column_facts_replace_the_per_fact_tests(manifest: dict) -> None:
    """No model or seed keeps a not_null, unique, accepted_values, not_after_as_of_month
    or unique_combination test of its own (one test node each): its column_facts test
    holds them."""
    relations = _tested_relations(manifest)
    separate = {f"{resource}: {test}" for resource, test, _ in _generic_tests(manifest)
                if test in FOLDED_TESTS and resource in relations}
    assert not separate, (
        f"fold these tests into the model's or seed's column_facts test: {sorted(separate)}")


def test_column_facts_name_the_documented_columns(manifest: dict) -> None:
    """One column_facts test per model or seed, named after it, over columns its yml
    documents (a misspelt column would otherwise fail only when the build runs the
    test)."""
    relations = _tested_relations(manifest)
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"
             and (node.get("test_metadata") or {}).get("name") == "column_facts"]
    assert tests, "no column_facts test: has the macro been renamed?"
    tested = [node["attached_node"].split(".")[-1] for node in tests]
    assert len(tested) == len(set(tested)), "a model or seed has two column_facts tests"
    wrong = []
    for node, relation in zip(tests, tested, strict=True):
        if node["name"] != f"column_facts_{relation}":
            wrong.append(f"{node['name']}: name it column_facts_{relation}")
        documented = set(relations[relation]["columns"])
        wrong += [f"{relation}.{column}: not in its yml"
                  for _, _, columns, _ in _column_facts(relation, node["test_metadata"]["kwargs"])
                  for column in columns.split(",") if column not in documented]
    assert not wrong, "\n".join(wrong)


def test_every_fact_tested_before_column_facts_is_still_tested(manifest: dict) -> None:
    """Every fact the ymls of FACTS_BASELINE_COMMITS tested, each test of its own or in
    column_facts, is tested now, with the same values. A fact whose model, seed or
    column is gone no longer applies."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=PROJECT_DIR, capture_output=True,
                              text=True, check=True).stdout

    baseline: set[Fact] = set()
    for commit in FACTS_BASELINE_COMMITS:
        try:
            paths = git("ls-tree", "-r", "--name-only", commit, "models", "seeds")
        except (OSError, subprocess.CalledProcessError):
            pytest.skip(f"no git history with {commit[:7]} here")
        for path in paths.split():
            if path.endswith(".yml"):
                baseline |= _facts_in_yml(yaml.safe_load(git("show", f"{commit}:{path}")))
    # 79d0f1d tested 105 not_null, 34 unique and 21 accepted_values facts; 4fcba79 28
    # unique combinations and 7 months never after the as_of month besides.
    counts = Counter(test for _, test, _, _ in baseline)
    assert counts["unique_combination"] >= 28 and counts["not_after_as_of_month"] >= 7, counts
    assert len(baseline) >= 195, len(baseline)
    columns = {node["name"]: set(node["columns"]) for node in manifest["nodes"].values()
               if node["resource_type"] in ("model", "seed")}
    applying = {fact for fact in baseline
                if set(fact[2].split(",")) <= columns.get(fact[0], set())}
    lost = applying - _facts_in_manifest(manifest)
    assert not lost, "facts no longer tested:\n" + "\n".join(map(str, sorted(lost)))
