"""Arrow conversion and the CSV / Parquet writer of the raw files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from retain.generate.arrays import _rng
from retain.generate.schemas import SCHEMAS, TABLES, TS


# --- arrow conversion and writing -------------------------------------------------------------
def _ids(prefix: str, number: np.ndarray, width: int) -> pa.Array:
    """Keys like cus_000042 (1-based), NULL where number < 0, formatted in Arrow's C++."""
    digits = pa.array(np.where(number >= 0, number + 1, 0), pa.int64(), mask=number < 0)
    padded = pc.utf8_lpad(pc.cast(digits, pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix + "_", padded, "")


def _labels(code: np.ndarray, labels: tuple[str, ...] | list[str] | np.ndarray) -> pa.Array:
    code = np.asarray(code, dtype=np.int64)
    dictionary = pa.DictionaryArray.from_arrays(pa.array(np.maximum(code, 0), mask=code < 0),
                                                pa.array(list(labels), pa.string()))
    return dictionary.cast(pa.string())


def _ts(seconds: np.ndarray) -> pa.Array:
    seconds = np.asarray(seconds, dtype=np.int64)
    return pa.array(np.where(seconds >= 0, seconds, 0) * 1_000_000, TS, mask=seconds < 0)


def _dates(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    return pa.array(np.where(days >= 0, days, 0).astype(np.int32), pa.date32(), mask=days < 0)


def _decimal(units: np.ndarray, kind: pa.DataType) -> pa.Array:
    """Exact decimals from integer minor units (cents, or 1e-8 for fx rates)."""
    as_int = pa.array(np.asarray(units, dtype=np.int64), pa.int64())
    return as_int.cast(pa.decimal128(19, 0)).cast(pa.decimal128(18, 0)).view(kind)


def _ints(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, pa.int64(), mask=values < 0)


def _width(count: int) -> int:
    return max(6, len(str(count)))


def _csv_timestamps(column: pa.Array, rng: np.random.Generator) -> pa.Array:
    """ISO 8601 UTC with Z; 1% without offset and 1% with a local offset, same instant."""
    seconds = pc.divide(pc.cast(pc.fill_null(column, 0), pa.int64()), 1_000_000).to_numpy()
    as_ts = pa.array(seconds, pa.timestamp("s"))
    text = pc.strftime(as_ts, "%Y-%m-%dT%H:%M:%SZ")
    u = rng.random(len(seconds))
    valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False))
    plain = valid & (u < 0.01)
    if plain.any():
        text = pc.replace_with_mask(text, pa.array(plain),
                                    pc.strftime(as_ts.filter(pa.array(plain)), "%Y-%m-%d %H:%M:%S"))
    offset = valid & (u >= 0.01) & (u < 0.02)
    if offset.any():
        shifts = np.array([9 * 3600, -5 * 3600, 3600, 19800])
        suffix = np.array(["+09:00", "-05:00", "+01:00", "+05:30"], dtype=object)
        pick = rng.integers(0, len(shifts), int(offset.sum()))
        local = pa.array(seconds[offset] + shifts[pick], pa.timestamp("s"))
        shifted = pc.binary_join_element_wise(pc.strftime(local, "%Y-%m-%dT%H:%M:%S"),
                                              pa.array(suffix[pick], pa.string()), "")
        text = pc.replace_with_mask(text, pa.array(offset), shifted)
    return pc.if_else(column.is_null(), pa.scalar(None, pa.string()), text)


class TableWriter:
    """Writes one table incrementally as CSV (text per the contract) or Parquet (native types)."""

    def __init__(self, out_dir: Path, table: str, file_format: str, seed: int) -> None:
        self.table = table
        self.schema = pa.schema(SCHEMAS[table])
        self.csv = file_format == "csv"
        self.path = out_dir / f"{table}.{'csv' if self.csv else 'parquet'}"
        self.rng = _rng(seed, 9, TABLES.index(table))
        self.rows = 0
        self._writer: pacsv.CSVWriter | pq.ParquetWriter | None = None

    def write(self, columns: dict[str, pa.Array]) -> None:
        table = pa.table([columns[name] for name in self.schema.names], schema=self.schema)
        if self.csv:  # Arrow renders dates, decimals and booleans as the contract wants
            table = pa.table([_csv_timestamps(column.combine_chunks(), self.rng)
                              if pa.types.is_timestamp(column.type) else column
                              for column in table.columns], names=self.schema.names)
        if self._writer is None:
            self._writer = (pacsv.CSVWriter(str(self.path), table.schema,
                                            write_options=pacsv.WriteOptions(
                                                batch_size=65_536, quoting_header="none"))
                            if self.csv else pq.ParquetWriter(str(self.path), self.schema,
                                                              compression="zstd"))
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> int:
        if self._writer is None:
            self.write({name: pa.array([], type) for name, type in SCHEMAS[self.table]})
        assert self._writer is not None
        self._writer.close()
        return self.rows


