"""Development tools: benchmark, comparisons, checks and the dashboard's browser driver.

Run from the project root (`python -m tools.bench`) or imported by the tests; not part
of the wheel, and no runtime module (retain, orchestration) imports them.
"""
