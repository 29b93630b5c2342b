"""The README's metric glossary, rendered from the dbt manifest.

Every metric of the semantic layer (models/semantic/*.yml) has its definition
in a `{% docs %}` block; dbt renders it into the metric's description in
target/manifest.json. This module turns those metrics into the markdown table
between the glossary markers of README.md, so that the README cannot drift
from the dbt docs: tests/python/test_project_hygiene.py fails when it does.

    .venv/bin/dbt parse --target lint            # writes target/manifest.json
    .venv/bin/python -m retain.glossary --write  # rewrites the README section
    make glossary                                # both
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from retain.settings import PROJECT_DIR

START_MARKER = "<!-- glossary:start -->"
END_MARKER = "<!-- glossary:end -->"

# Semantic-layer files in the order their metrics appear, with a heading each.
AREAS = (
    ("models/semantic/sem_revenue.yml", "Revenue (finance)"),
    ("models/semantic/sem_customer_success.yml", "Customer success"),
)


def _one_line(text: str) -> str:
    """A docs block as one table cell: whitespace collapsed, pipes escaped."""
    return re.sub(r"\s+", " ", text).strip().replace("|", "\\|")


def _metric_row(metric: dict[str, Any]) -> str:
    meta = metric.get("config", {}).get("meta") or metric.get("meta") or {}
    name = f"`{metric['name']}`"
    if metric.get("label"):
        name += f" ({metric['label']})"
    table = meta.get("table", "")
    table_cell = f"`{table}`" if table else ""
    return (f"| {name} | {_one_line(str(meta.get('grain', '')))} | "
            f"{_one_line(metric.get('description', ''))} | {table_cell} |")


def render_glossary(manifest: dict[str, Any]) -> str:
    """The markdown between the markers (markers excluded), ending in a newline."""
    metrics = list(manifest.get("metrics", {}).values())
    lines = [
        "Generated from the dbt docs by `make glossary` (retain/glossary.py); do not edit",
        "by hand: `make test` fails when this table and the dbt docs differ. *grain* is",
        "the finest grain the metric is defined at (a *balance* is not summed over time:",
        "a coarser grain shows the last month's value), *table* where the warehouse holds",
        "the same figure (`table.column`) or the model it is computed from.",
        "",
    ]
    known_files = {path for path, _ in AREAS}
    areas = [*AREAS, *((path, "Other") for path in sorted(
        {m["original_file_path"] for m in metrics} - known_files))]
    for path, heading in areas:
        area_metrics = sorted((m for m in metrics if m["original_file_path"] == path),
                              key=lambda m: m["name"])
        if not area_metrics:
            continue
        lines += [f"### {heading}", "", "| metric | grain | formula | table |",
                  "|---|---|---|---|", *(_metric_row(m) for m in area_metrics), ""]
    return "\n".join(lines)


def readme_section(readme_text: str) -> str:
    """The text between the glossary markers of a README ('' when absent)."""
    start = readme_text.find(START_MARKER)
    end = readme_text.find(END_MARKER)
    if start < 0 or end < start:
        return ""
    return readme_text[start + len(START_MARKER):end].strip("\n") + "\n"


def replace_section(readme_text: str, glossary: str) -> str:
    """README text with the glossary between the markers (appended when absent)."""
    block = f"{START_MARKER}\n{glossary.rstrip()}\n{END_MARKER}"
    start = readme_text.find(START_MARKER)
    end = readme_text.find(END_MARKER)
    if start < 0 or end < start:
        return readme_text.rstrip("\n") + f"\n\n## Metric glossary\n\n{block}\n"
    return readme_text[:start] + block + readme_text[end + len(END_MARKER):]


def load_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SystemExit(f"{path} not found: run `.venv/bin/dbt parse --target lint` first")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retain.glossary", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    target = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")
    parser.add_argument("--manifest", type=Path, default=target / "manifest.json")
    parser.add_argument("--write", nargs="?", type=Path, const=PROJECT_DIR / "README.md",
                        default=None, metavar="README",
                        help="rewrite the glossary section of README (default README.md)")
    args = parser.parse_args(argv)
    glossary = render_glossary(load_manifest(args.manifest))
    if args.write is None:
        sys.stdout.write(glossary)
        return 0
    readme = args.write.read_text()
    updated = replace_section(readme, glossary)
    if updated != readme:
        args.write.write_text(updated)
        print(f"updated the metric glossary in {args.write}")
    else:
        print(f"the metric glossary in {args.write} is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
