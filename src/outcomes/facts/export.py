"""Export the DuckDB facts store as Parquet, for Spark (or any engine) to read (docs/spark.md).

``export_parquet(store, DIR)`` writes every stored version, not only the current ones, so that as-of-batch
reads and the digest work on the copy exactly as on the store:

    DIR/interactions/part-0.parquet   canonical columns + _batch, _until, _hash
    DIR/events/part-0.parquet         canonical columns + _batch, _until, _hash
    DIR/batches/part-0.parquet        the batches table (reasons as JSON text)

Timestamps are written as Parquet timestamps without a time zone (naive UTC), which Spark reads as
TIMESTAMP_NTZ. A table folder that exists is replaced whole, once its new copy is written; nothing else in
DIR is touched.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .sources import lit
from .store import FactsStore

EXPORTED = {
    "interactions": "SELECT * FROM interactions",
    "events": "SELECT * FROM events",
    "batches": "SELECT * REPLACE (CAST(reasons AS VARCHAR) AS reasons) FROM batches",
}


@dataclass(frozen=True)
class ExportSummary:
    folder: str
    rows: dict[str, int]
    latest_batch: int
    digest: str

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "rows": self.rows,
            "latest_batch": self.latest_batch,
            "digest": self.digest,
        }


def export_parquet(store: FactsStore, folder: Path) -> ExportSummary:
    """Write the store's interactions, events (every version) and batches as Parquet folders under `folder`."""
    folder = Path(folder).resolve()  # the summary names the folder to set as facts.spark_parquet
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: exists and is not a folder; choose another DIR")
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, query in EXPORTED.items():
        # written beside the table folder, then swapped in: a failed export leaves the previous copy whole
        partial = folder / f"{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        (written,) = store.con.execute(
            f"COPY ({query}) TO {lit(str(partial / 'part-0.parquet'))} (FORMAT parquet)"
        ).fetchone()
        rows[name] = int(written)
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    return ExportSummary(str(folder), rows, store.latest_batch(), store.digest())
