"""A pull: pages of the vendor's change feed, batches ingested through its mapping, the cursor kept."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .api import PullError
from .vendors import VENDORS, Page, Vendor

#: What ingests one pulled file (through the vendor's mapping) and returns its summary (as a dict or with
#: ``to_dict``); the command line passes the workspace's ingest, tests a store's.
Ingest = Callable[[Path, str], Any]
#: Progress: (what is happening, pages read, records read).
Report = Callable[[str, int, int], None]

CURSOR_VERSION = 1


@dataclass
class PullSummary:
    vendor: str
    mapping: str
    resumed: bool  # started from a cursor kept by an earlier pull (else from --since)
    pages: int = 0  # answers read (rate-limited ones not counted)
    records: int = 0  # new records read (a record changed while the pull ran counts each time it is read)
    written: int = 0  # records ingested: the latest version of each, per batch
    rate_limited: int = 0  # 429 answers waited out
    waited_seconds: float = 0.0
    batches: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cursor_file(folder: Path, vendor: str) -> Path:
    return folder / f"{vendor}.cursor.json"


def _load(path: Path, vendor: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PullError(
            f"{path}: the pull cursor cannot be read ({exc})",
            hint="restore it, or delete it and pull again with --since (records already ingested are duplicates)",
        ) from None
    if not isinstance(state, dict) or state.get("vendor") != vendor or not isinstance(state.get("cursor"), dict):
        raise PullError(f"{path}: not a {vendor} pull cursor", hint="delete it and pull again with --since")
    return state


def _save(path: Path, state: dict[str, Any]) -> None:
    """Write the cursor whole or not at all (a crash never leaves half a cursor)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _since(since: date | datetime) -> datetime:
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    return datetime(since.year, since.month, since.day, tzinfo=UTC)


def _summary_dict(s: Any) -> dict[str, Any]:
    return s.to_dict() if hasattr(s, "to_dict") else dict(s)


def pull(
    vendor: str,
    folder: Path,
    ingest: Ingest,
    *,
    since: date | datetime | None = None,
    env: Mapping[str, str] | None = None,
    progress: Report | None = None,
    pages_per_batch: int = 50,
    page_size: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: Any = None,
    now: datetime | None = None,
) -> PullSummary:
    """Pull what changed since the kept cursor (the first time: since ``since``, a date taken as 00:00 UTC).

    Every ``pages_per_batch`` pages, and at the end, the records read are written to a file in ``folder/vendor``
    (one record per id: its latest version) and ingested with ``ingest(file, mapping)``; only then is the cursor
    moved past them, so an interrupted pull loses nothing and a rerun reads nothing twice."""
    if vendor not in VENDORS:
        raise PullError(f"no such helpdesk {vendor!r}; one of {', '.join(VENDORS)}")
    v: Vendor = VENDORS[vendor]
    report = progress or (lambda what, pages, records: None)
    where = cursor_file(folder, vendor)
    state = _load(where, vendor)
    if state is None and since is None:
        raise PullError(
            f"{vendor}: the first pull needs --since DATE (no cursor kept in {folder})",
            hint="e.g. --since 2026-10-01: tickets changed from that day on; later pulls resume by themselves",
        )
    summary = PullSummary(vendor, v.mapping, resumed=state is not None)
    cursor = dict(state["cursor"]) if state is not None else v.start(_since(since))  # type: ignore[arg-type]
    started = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    batch_dir = folder / vendor

    def waiting(seconds: float) -> None:
        report(f"rate limited: waiting {seconds:.0f} s (Retry-After)", summary.pages, summary.records)

    api = v.connect(os.environ if env is None else env, sleep=sleep, on_wait=waiting, transport=transport)
    pending: dict[str, tuple[Any, tuple[dict[str, Any], Any]]] = {}  # id -> (version, item)

    def commit(cursor: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if pending:
            batch_dir.mkdir(parents=True, exist_ok=True)
            file = batch_dir / f"{started}-{len(summary.files) + 1:04d}.json"
            items = [item for _, item in pending.values()]
            file.write_text(json.dumps(v.document(items), ensure_ascii=False) + "\n", encoding="utf-8")
            report(f"ingesting {len(items):,} {v.noun}", summary.pages, summary.records)
            result = _summary_dict(ingest(file, v.mapping))
            summary.batches.append(result)
            summary.files.append(str(file))
            summary.written += len(items)
            pending.clear()
        _save(where, {"vendor": vendor, "version": CURSOR_VERSION, "cursor": cursor,
                      "since": state["since"] if state else _since(since).isoformat(),  # type: ignore[arg-type]
                      "saved_at": datetime.now(UTC).isoformat(timespec="seconds")})
        summary.cursor = cursor

    try:
        pages_in_batch = 0
        while True:
            report(f"reading {v.noun}", summary.pages, summary.records)
            page: Page = v.fetch(api, cursor, page_size or v.page_size)
            summary.pages += 1
            pages_in_batch += 1
            for record, extra in page.items:
                key, version = str(record["id"]), v.version(record)
                held = pending.get(key)
                if held is None or version >= held[0]:  # the later version wins (ties: the later page)
                    pending[key] = (version, (record, extra))
            summary.records += len(page.items)
            stalled = not page.items and page.cursor == cursor
            cursor = page.cursor
            if page.done or stalled:
                break
            if pages_in_batch >= pages_per_batch:
                commit(cursor)
                pages_in_batch = 0
        commit(cursor)
    finally:
        summary.rate_limited, summary.waited_seconds = api.waits, api.waited
        api.close()
    keys = ("rows", "accepted", "duplicates", "updated", "quarantined", "skipped")
    totals: dict[str, Any] = {k: sum(int(b.get(k, 0)) for b in summary.batches) for k in keys}
    reasons: dict[str, int] = {}
    for b in summary.batches:
        for r, n in (b.get("reasons") or {}).items():
            reasons[r] = reasons.get(r, 0) + int(n)
    totals["reasons"] = dict(sorted(reasons.items()))
    summary.totals = totals
    return summary
