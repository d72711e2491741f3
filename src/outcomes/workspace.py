"""A workspace: one folder holding the settings, the facts store (DuckDB) and the ledger (SQLite by default).

Commands find it from `--workspace DIR`, else `OUTCOMES_WORKSPACE`, else the current directory. Settings come
from `outcomes.toml` in the workspace; environment variables override them (useful in CI and containers).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

SETTINGS_FILE = "outcomes.toml"

# setting -> environment variable that overrides it
ENVIRONMENT = {
    "facts_path": "OUTCOMES_FACTS_PATH",
    "ledger_url": "OUTCOMES_LEDGER_URL",
    "memory_limit": "OUTCOMES_MEMORY_LIMIT",
    "threads": "OUTCOMES_THREADS",
}

DEFAULT_SETTINGS = """\
# outcomes workspace settings. Environment variables override each key:
# OUTCOMES_FACTS_PATH, OUTCOMES_LEDGER_URL, OUTCOMES_MEMORY_LIMIT, OUTCOMES_THREADS.

[facts]
# The facts store (interactions, customer events, evidence): a DuckDB file, relative to this folder.
path = "facts.duckdb"
# DuckDB spills to disk beyond this (e.g. "4GB"); empty means DuckDB's default (80% of memory).
memory_limit = ""
threads = 0   # 0: all cores

[ledger]
# Settlements, contracts, audit log: SQLAlchemy URL. SQLite file by default; PostgreSQL for a shared server,
# e.g. "postgresql+psycopg://user@host:5432/outcomes".
url = "sqlite:///ledger.sqlite"
"""


class WorkspaceError(Exception):
    pass


@dataclass
class Settings:
    root: Path
    facts_path: Path
    ledger_url: str
    memory_limit: str | None = None
    threads: int | None = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Settings:
        path = root / SETTINGS_FILE
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(
                f"{path}: not valid TOML ({exc}); fix the file or run `outcomes init` again"
            ) from None
        facts = raw.get("facts", {})
        ledger = raw.get("ledger", {})
        values = {
            "facts_path": str(facts.get("path", "facts.duckdb")),
            "ledger_url": str(ledger.get("url", "sqlite:///ledger.sqlite")),
            "memory_limit": str(facts.get("memory_limit", "")),
            "threads": str(facts.get("threads", 0)),
        }
        for key, var in ENVIRONMENT.items():
            if os.environ.get(var):
                values[key] = os.environ[var]
        facts_path = Path(values["facts_path"])
        if not facts_path.is_absolute():
            facts_path = root / facts_path
        try:
            threads = int(values["threads"]) or None
        except ValueError:
            raise WorkspaceError(
                f"{path}: facts.threads must be a whole number, got {values['threads']!r}"
            ) from None
        return cls(
            root=root,
            facts_path=facts_path,
            ledger_url=_absolute_sqlite(values["ledger_url"], root),
            memory_limit=values["memory_limit"] or None,
            threads=threads,
            raw=raw,
        )


def _absolute_sqlite(url: str, root: Path) -> str:
    """A relative SQLite path is relative to the workspace, not to wherever the command runs."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((root / url[len(prefix) :]).resolve())
    return url


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.settings = Settings.load(root)
        self._facts = None
        self._ledger = None

    @property
    def evidence_dir(self) -> Path:
        return self.root / "evidence"

    def facts(self):
        if self._facts is None:
            from outcomes.facts import FactsStore

            self._facts = FactsStore(
                self.settings.facts_path,
                memory_limit=self.settings.memory_limit,
                threads=self.settings.threads,
            )
        return self._facts

    def ledger(self):
        if self._ledger is None:
            from outcomes.ledger import Ledger

            self._ledger = Ledger(self.settings.ledger_url)
        return self._ledger

    def close(self) -> None:
        if self._facts is not None:
            self._facts.close()
            self._facts = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def init_workspace(root: Path) -> Workspace:
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    settings = root / SETTINGS_FILE
    if not settings.exists():
        settings.write_text(DEFAULT_SETTINGS, encoding="utf-8")
    ws = Workspace(root)
    ws.facts()  # creates the DuckDB file and its tables
    ws.ledger()  # creates the ledger schema
    return ws


def find_workspace(explicit: Path | None = None) -> Workspace:
    if explicit is not None:
        root, how = explicit, "--workspace"
    elif os.environ.get("OUTCOMES_WORKSPACE"):
        root, how = Path(os.environ["OUTCOMES_WORKSPACE"]), "OUTCOMES_WORKSPACE"
    else:
        root, how = Path.cwd(), "the current directory"
    root = root.resolve()
    if not (root / SETTINGS_FILE).exists():
        raise WorkspaceError(
            f"{root} ({how}) is not an outcomes workspace: no {SETTINGS_FILE}. "
            f"Create one with `outcomes init {root}` or point --workspace / OUTCOMES_WORKSPACE at one."
        )
    return Workspace(root)
