"""An ingest that would change facts of a settled period says so before committing and needs
--allow-changes-to-settled (issue 15, item 3); new facts of open periods need nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()
CSV = WORKED_MONTH / "interactions.csv"


def _cli(*args: str):
    return runner.invoke(app, list(args), env={"OUTCOMES_WORKSPACE": ""})


@pytest.fixture
def settled(tmp_path) -> Path:
    ws = tmp_path / "ws"
    for args in (
        ["init", str(ws)],
        ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)],
        ["ingest", "interactions", str(CSV), "-w", str(ws)],
        ["settle", "worked-example", "--period", "2026-10", "-w", str(ws)],
    ):
        r = _cli(*args)
        assert r.exit_code == 0, r.output
    return ws


def _facts(ws: Path) -> tuple:
    from outcomes.workspace import find_workspace

    w = find_workspace(ws)
    try:
        return w.facts().latest_batch(), w.facts().digest()
    finally:
        w.close()


def _rewrite(tmp_path: Path, edit, name: str = "again.csv") -> Path:
    lines = CSV.read_text().splitlines()
    out = tmp_path / name
    out.write_text("\n".join([lines[0], *[edit(ln) for ln in lines[1:]]]) + "\n")
    return out


def test_ids_colliding_with_settled_facts_are_refused_with_what_would_change(settled, tmp_path):
    before = _facts(settled)
    changed = _rewrite(tmp_path, lambda ln: ln.replace(",acme-bpo,", ",other-bpo,"))  # every row, new content
    r = _cli("ingest", "interactions", str(changed), "-w", str(settled))
    assert r.exit_code == 1
    # 12 rows can change October: w11 closed on 1 October in London (30 Sep 23:30 UTC), w12 is not the system of
    # record's (provider_export), w14 (10 November) is past October's reach (its end + the 5-day repeat window)
    text = " ".join(r.output.split())
    assert "would change the facts of 1 settled period(s), 12 row(s) in all; nothing was ingested" in text
    assert (
        "12 row(s) of worked-example 2026-10 (settlement #1, final, billed 2030.00 GBP): the next settlement may "
        "adjust it by up to 2030.00 GBP back or 0.00 GBP more" in text
    )
    assert "--allow-changes-to-settled" in r.output
    assert _facts(settled) == before  # nothing was committed, not even a batch


def test_with_consent_the_change_is_ingested_and_reported(settled, tmp_path):
    changed = _rewrite(tmp_path, lambda ln: ln.replace(",acme-bpo,", ",other-bpo,") if ln.startswith("w3,") else ln)
    r = _cli("ingest", "interactions", str(changed), "-w", str(settled), "--allow-changes-to-settled", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["updated"] == 1
    assert data["changes_to_settled"] == [
        {
            "contract": "worked-example",
            "period": "2026-10",
            "settlement": 1,
            "status": "final",
            "rows": 1,
            "billed": "2030.00",
            "currency": "GBP",
            "largest_adjustment_down": "2030.00",
            "largest_adjustment_up": "0.00",
        }
    ]


def test_reingesting_the_same_file_changes_nothing_and_needs_nothing(settled):
    r = _cli("ingest", "interactions", str(CSV), "-w", str(settled))
    assert r.exit_code == 0, r.output
    assert "14 duplicates" in r.output


def test_new_facts_of_an_open_period_need_nothing(settled, tmp_path):
    header = CSV.read_text().splitlines()[0]
    later = tmp_path / "november.csv"
    later.write_text(
        header
        + "".join(
            f"\nn{i},zendesk,c{i},chat,refunds,2026-11-2{i}T09:00:00Z,,2026-11-2{i}T09:10:00Z,resolved,agent,ag1,"
            "acme-bpo,false,,,,,,,"
            for i in range(5)
        )
        + "\n"
    )
    r = _cli("ingest", "interactions", str(later), "-w", str(settled))
    assert r.exit_code == 0, r.output
    assert "5 accepted" in r.output


def test_a_late_contact_inside_a_settled_periods_window_is_a_change_to_it(settled, tmp_path):
    """2 November is after October, but inside its 5-day repeat window: it can turn an October resolution
    into a repeat, so it changes what October would be billed."""
    header = CSV.read_text().splitlines()[0]
    late = tmp_path / "late.csv"
    late.write_text(
        header + "\nlate1,zendesk,a,chat,refunds,2026-11-02T09:00:00Z,,2026-11-02T09:10:00Z,resolved,agent,ag1,"
        "acme-bpo,false,,,,,,,\n"
    )
    r = _cli("ingest", "interactions", str(late), "-w", str(settled))
    assert r.exit_code == 1 and "1 row(s) of worked-example 2026-10" in r.output


def test_other_sources_do_not_touch_a_settled_period(settled, tmp_path):
    """Only the contract's system of record is billed: a row of another source changes nothing settled."""
    other = _rewrite(tmp_path, lambda ln: ln.replace(",zendesk,", ",other-crm,"))
    assert _cli("ingest", "interactions", str(other), "-w", str(settled)).exit_code == 0


def test_a_mapped_ingest_is_checked_the_same_way(settled, tmp_path):
    header = CSV.read_text().splitlines()[0].split(",")
    mapping = tmp_path / "canonical.yaml"
    mapping.write_text(
        "name: canonical-copy\nkind: interactions\nsource_fields: [" + ", ".join(header) + "]\n"
        "read: {delimiter: ',', quote: '\"'}\ncolumns:\n"
        + "".join(f"  {h}: {h}\n" for h in header if h not in ("qa_score",))
    )
    changed = _rewrite(tmp_path, lambda ln: ln.replace(",acme-bpo,", ",other-bpo,"))
    r = _cli("ingest", "interactions", str(changed), "--mapping", str(mapping), "-w", str(settled))
    assert r.exit_code == 1 and "would change the facts of 1 settled period(s)" in r.output
