"""The arrow schema of every raw table, derived from the raw contract."""

from __future__ import annotations

import pyarrow as pa

from retain.contract import TABLES as CONTRACT_TABLES
from retain.contract import ColumnType

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(18, 8)

# The arrow type the generator writes for each contract type: money in cents,
# rates to 8 decimals, timestamps in UTC.
ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": MONEY,
    "rate": RATE,
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": TS,
}

SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    table.name: [(column.name, ARROW_TYPES[column.type]) for column in table.columns]
    for table in CONTRACT_TABLES
}
TABLES = tuple(SCHEMAS)
