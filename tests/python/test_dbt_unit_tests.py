"""dbt unit tests (hand-computed rows in the models' yml) run once, here.

Production builds exclude them (retain.dbt.PRODUCTION_BUILD): they test the
SQL, not the data. They need the models' relations to exist, hence the
build of the revenue fixture first.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

from retain.dbt import dbt_arguments, run_dbt
from retain.settings import Settings
from tests.python.conftest import FIXTURES, BuildWarehouse

AS_OF = date(2024, 6, 15)


def test_every_dbt_unit_test_passes(build_warehouse: BuildWarehouse, tmp_path: Path) -> None:
    # dbt opens its warehouse for writing: a copy, as other tests read the shared one.
    warehouse = tmp_path / "retain.duckdb"
    shutil.copy(build_warehouse(FIXTURES / "revenue", AS_OF), warehouse)
    outcome = run_dbt(dbt_arguments(["test", "--select", "test_type:unit"],
                                    Settings(as_of=AS_OF)), warehouse)
    assert outcome.success, "\n".join(outcome.failures)
    manifest = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    unit_tests = list(manifest["unit_tests"].values())
    # Every unit test of the project ran and passed: none skipped or left out by the selection.
    assert len(unit_tests) >= 40
    assert outcome.counts == {"pass": len(unit_tests)}
