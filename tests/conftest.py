"""Scenario helpers: a contract in a few lines of YAML, a tiny table, then the expected fates and invoice."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from outcomes.contract import read_contract
from outcomes.settlement.settle import compute
from outcomes.workspace import init_workspace

# Property tests assert properties, not speed: no per-example deadline (a loaded CI machine must not fail them;
# performance is measured by `make bench`).
settings.register_profile("outcomes", deadline=None)
settings.load_profile("outcomes")

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # a fresh clone sits beside shared/ too (see ../shared/tools/fresh-clone-check)
    SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
WORKED_MONTH = SHARED / "examples" / "worked-month"

# Scenarios are ingested "as of" this instant, so dates after today are not refused as future_timestamp.
SCENARIO_NOW = datetime(2027, 6, 1, tzinfo=UTC)

# A later contact of an unrelated customer moves the data clock past every window in the scenarios.
CLOCK_ROW = "clock,{source},zz-clock,chat,other,2027-03-01T00:00:00Z,,open,agent,,{provider},false,,"

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,csat,provider,reopened,intent,wait_seconds"


class Scenario:
    """A workspace with one contract and a few rows; `fates()` runs the settlement without recording it."""

    def __init__(self, root: Path, contract_yaml: str):
        self.root = root
        self.ws = init_workspace(root / "ws")
        path = root / "contract.yaml"
        path.write_text(textwrap.dedent(contract_yaml).strip() + "\n", encoding="utf-8")
        self.contract = read_contract(path)
        self.ws.ledger().add_contract(self.contract, path.read_text(), str(path))
        self._n = 0

    def rows(self, table: str, *, clock: bool = True, header: str = HEADER) -> None:
        """Rows in a compact CSV: the columns of HEADER unless another header is given."""
        body = [ln.strip() for ln in textwrap.dedent(table).strip().splitlines() if ln.strip()]
        if clock:
            provider = (self.contract.billable_providers or ["p"])[0]
            clock_row = CLOCK_ROW.format(source=self.contract.system_of_record, provider=provider)
            cols = header.split(",")
            values = dict(zip(HEADER.split(","), clock_row.split(","), strict=True))
            body.append(",".join(values.get(c, "") for c in cols))
        self._ingest("interactions", header + "\n" + "\n".join(body) + "\n")

    def events(self, table: str) -> None:
        body = textwrap.dedent(table).strip()
        self._ingest("events", "customer_id,event,at,amount,monthly_revenue\n" + body + "\n")

    def _ingest(self, kind: str, text: str) -> None:
        self._n += 1
        f = self.root / f"{kind}-{self._n}.csv"
        f.write_text(text, encoding="utf-8")
        summary = self.ws.facts().ingest(kind, f, now=SCENARIO_NOW)
        assert summary.quarantined == 0, self.ws.facts().quarantine(summary.batch)

    def settle(self, period: str, provisional: bool = False):
        return compute(
            self.ws.ledger(), self.ws.facts(), self.contract.contract, period, provisional=provisional
        )

    def fates(self, period: str, provisional: bool = False) -> dict[tuple[str, str], tuple]:
        """{(outcome, interaction_id): (status, reason, repeat_id, workflow)} from the evidence table."""
        result = self.settle(period, provisional)
        table = result.measures[0].evidence_table if result.measures else None
        if table is None:
            return {}
        rows = (
            self.ws.facts()
            .con.execute(
                f'SELECT outcome, interaction_id, status, reason, repeat_id, workflow FROM "{table}"'
            )
            .fetchall()
        )
        return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows}

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def scenario(tmp_path):
    made: list[Scenario] = []

    def make(contract_yaml: str) -> Scenario:
        s = Scenario(tmp_path / f"s{len(made)}", contract_yaml)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def postgres_url() -> str | None:
    """The test PostgreSQL server; under CI a missing one is a failure, never a skip."""
    url = os.environ.get("OUTCOMES_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("OUTCOMES_TEST_POSTGRES_URL is not set; CI must test the ledger on PostgreSQL")
        pytest.skip("OUTCOMES_TEST_POSTGRES_URL is not set")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def pytest_collection_modifyitems(config, items):
    """The ledger tests' PostgreSQL half is marked `postgres`, so `make test-fast` can leave it out."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in callspec.id.split("-"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def srv(tmp_path):
    """A shared server on a fresh workspace (tests/server_helpers.py); a module may define its own."""
    from server_helpers import make_server

    s = make_server(tmp_path)
    yield s
    s.client.close()
    s.writer.close()
