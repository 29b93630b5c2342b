"""The dbt project as Dagster sees it, with its manifest prepared once.

`@dbt_assets` reads the manifest when the definitions load, so it must exist
by then. `DbtProject.prepare_if_dev()` parses only under `dagster dev`; here
the manifest is parsed when it is missing (tests, `dagster definitions
validate`, a deployment) and otherwise reused: `make dagster` refreshes it
with `dbt parse` before the UI starts, never on import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from retain.settings import PROJECT_DIR

# The dbt of this virtualenv, whether or not it is on PATH (as retain.dbt runs it).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def dbt_target_path_from_environment() -> Path:
    """dbt's own setting (DBT_TARGET_PATH), else the project's target/; read at load time."""
    return Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")


def retain_dbt_project(target_path: Path) -> DbtProject:
    """The Retain dbt project with a manifest under target_path, parsing it if missing."""
    project = DbtProject(project_dir=PROJECT_DIR, target_path=target_path,
                         profiles_dir=PROJECT_DIR)
    if not project.manifest_path.exists():
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
