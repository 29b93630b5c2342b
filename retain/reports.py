"""Where each run explains its input: one folder per run beside the warehouse.

`<validation dir>/runs/<run id>/` holds `report.txt` (what a person reads),
`validation.json` and, when Great Expectations ran, its Data Docs. A run
rejected while loading (unreadable file, missing column, bad encoding or
type) writes the same two files, so one place explains every rejected run.
`<validation dir>/latest` points at the newest run; older runs beyond the
kept number are removed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from retain.load import RawInputError
from retain.settings import Settings

RUNS_FOLDER = "runs"
LATEST_LINK = "latest"
REPORT_TEXT = "report.txt"
RESULTS_JSON = "validation.json"


def run_report_dir(settings: Settings, run_id: str) -> Path:
    return settings.validation_dir() / RUNS_FOLDER / run_id


def keep_latest(report_dir: Path, kept_runs: int) -> None:
    """Point `latest` at report_dir and remove all but the newest kept_runs runs."""
    root = report_dir.parent.parent
    link = root / LATEST_LINK
    link.unlink(missing_ok=True)
    link.symlink_to(report_dir.relative_to(root), target_is_directory=True)
    runs = sorted((path for path in report_dir.parent.iterdir() if path.is_dir()),
                  key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for old in runs[kept_runs:]:
        shutil.rmtree(old, ignore_errors=True)


def write_report_text(report_dir: Path, text: str) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / REPORT_TEXT).write_text(text + "\n")


def write_load_rejection(report_dir: Path, error: RawInputError) -> None:
    """The load error in the shape of a validation result: file, column, sample value."""
    failure = {"table": Path(error.path).stem, "column": error.column,
               "expected": "a file the raw contract can load", "observed": str(error),
               "rows": None, "samples": [] if error.sample is None else [repr(error.sample)],
               "blocking": True}
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / RESULTS_JSON).write_text(json.dumps(
        {"passed": False, "stage": "load", "blocking_failures": [failure], "warnings": []},
        indent=1))
    write_report_text(report_dir, f"raw load rejected: {error}")
