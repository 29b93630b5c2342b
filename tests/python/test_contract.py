"""The raw contract is written once (expectations/contract.py): the dbt sources and the
staging models are checked against it, so neither can drift from it unseen."""

from __future__ import annotations

import ast
import re

import pytest

from expectations.contract import TABLES, Table
from retain.settings import PROJECT_DIR
from retain.sources import SOURCES_FILE, sources_yaml

STAGING = PROJECT_DIR / "models" / "staging"
POINT_IN_TIME = re.compile(r"point_in_time\(\s*'(?P<table>\w+)',\s*(?P<columns>\[[^\]]*\])", re.S)


def test_sources_are_generated_from_the_contract() -> None:
    assert SOURCES_FILE.read_text() == sources_yaml(), (
        "models/staging/_sources.yml differs from the contract: "
        "run python -m retain.sources --write")


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_staging_selects_exactly_the_contract_columns(table: Table) -> None:
    model = STAGING / f"stg_{table.name}.sql"
    if table.name == "users":  # read by nothing in the warehouse: no staging model
        assert not model.exists()
        return
    found = POINT_IN_TIME.search(model.read_text())
    assert found, f"{model.name} does not select its source through point_in_time"
    assert found["table"] == table.name
    assert ast.literal_eval(found["columns"]) == table.column_names
