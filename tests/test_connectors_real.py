"""Integration: real source files ingested whole through the built-in mappings, with key figures checked
against independent counts computed here with pandas or DuckDB SQL over the raw files (never with the
project's own code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from outcomes.connectors import ingest_mapped
from outcomes.facts import FactsStore

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BANK = DATA / "technion_anonymous_bank"
INCIDENTS = DATA / "uci_incident_event_log" / "incident_event_log.csv.gz"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
MONTHS = ("january", "october", "august")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not BANK.is_dir(), reason="shared data not available")]


def _frame(cur) -> pd.DataFrame:
    return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])


def _balanced(s) -> None:
    assert s.rows == s.accepted + s.duplicates + s.updated + s.quarantined + s.skipped
    assert sum(s.reasons.values()) == s.quarantined + s.skipped


def _bank_raw(month: str) -> pd.DataFrame:
    # split on any whitespace: two October rows have a space for a tab (SOURCE.md)
    df = pd.read_csv(BANK / f"{month}_1999.txt.gz", sep=r"\s+", dtype=str, engine="python")
    day = pd.to_datetime(df["date"], format="%y%m%d")

    def at(col: str) -> pd.Series:
        return day + pd.to_timedelta(df[col])

    df["opened"] = at("vru_entry")
    queued = ~df["q_start"].isin(["0:00:00", "00:00:00"])
    closed = at("vru_exit").where(~queued, at("q_exit")).where(df["outcome"] != "AGENT", at("ser_exit"))
    df["closed"] = closed.where(closed >= df["opened"], closed + timedelta(days=1))
    df["id"] = df["date"] + "-" + df["vru+line"] + "-" + df["call_id"]
    # rows that cannot be verified, quarantined with a reason (a PHANTOM row is skipped whatever it holds):
    # served with no service times, or a customer id in scientific notation
    zero = ["0:00:00", "00:00:00"]
    no_times = (df["outcome"] == "AGENT") & df["ser_start"].isin(zero) & df["ser_exit"].isin(zero)
    rounded = df["customer_id"].str.contains("E+", regex=False)
    held = pd.Series(None, index=df.index, dtype=object)
    held = held.mask(rounded, "customer_id_rounded").mask(no_times, "no_service_times")
    df["held"] = held.where(df["outcome"] != "PHANTOM")
    return df


def _live(df: pd.DataFrame) -> pd.DataFrame:
    """The rows the bank mapping stores: not PHANTOM, not quarantined."""
    return df[(df["outcome"] != "PHANTOM") & df["held"].isna()]


def _repeats_pandas(df: pd.DataFrame) -> int:
    """Served calls of identified customers followed by another (non-phantom) call of the same customer
    opened no later than 7 days after the served call ended."""
    calls = _live(df)
    calls = calls[calls["customer_id"] != "0"].sort_values(["customer_id", "opened", "closed", "id"])
    nxt = calls.groupby("customer_id")["opened"].shift(-1)
    served = calls["outcome"] == "AGENT"
    return int((served & nxt.notna() & (nxt <= calls["closed"] + timedelta(days=7))).sum())


REPEATS_SQL = """
SELECT count(*) FROM (
  SELECT status, closed_at,
         lead(opened_at) OVER (PARTITION BY customer_id
                               ORDER BY opened_at, closed_at NULLS LAST, interaction_id) AS next_open
  FROM interactions WHERE _until IS NULL AND customer_id IS NOT NULL
) WHERE status = 'resolved' AND next_open <= closed_at + INTERVAL 7 DAY
"""


def test_technion_bank_three_months_whole():
    with FactsStore(":memory:") as store:
        raws = {m: _bank_raw(m) for m in MONTHS}
        summaries = {
            m: ingest_mapped(store, "interactions", BANK / f"{m}_1999.txt.gz", "technion-bank", now=NOW)
            for m in MONTHS
        }
        for month, s in summaries.items():
            raw = raws[month]
            _balanced(s)
            phantom = int((raw["outcome"] == "PHANTOM").sum())
            held = {str(k): int(n) for k, n in raw["held"].value_counts().items()}
            assert s.rows == len(raw) == s.source_rows
            assert s.skipped == phantom and s.reasons == {"phantom_call": phantom, **held}
            assert (s.accepted, s.quarantined, s.duplicates) == (
                len(raw) - phantom - sum(held.values()),
                sum(held.values()),
                0,
            )
        # SOURCE.md's own counts
        assert (summaries["january"].rows, summaries["october"].rows, summaries["august"].rows) == (
            31599,
            34625,
            42078,
        )
        raw = pd.concat(raws.values())
        live = _live(raw)
        # quarantined with a reason, never given an invented close time or a guessed customer
        assert raw["held"].value_counts().to_dict() == {"no_service_times": 121, "customer_id_rounded": 38}
        listed = {(q["file"], q["row"], q["reason"]) for q in store.quarantine()}
        assert listed == {
            (str(BANK / f"{m}_1999.txt.gz"), i + 2, r)  # the header is line 1
            for m, df in raws.items()
            for i, r in df["held"].dropna().items()
        }
        q = next(q for q in store.quarantine() if q["reason"] == "customer_id_rounded")
        assert "scientific notation" in q["message"] and "E+" in q["raw"]
        con = store.con
        by_status = dict(
            con.execute(
                "SELECT status, count(*) FROM interactions WHERE _until IS NULL GROUP BY 1"
            ).fetchall()
        )
        assert by_status == {
            "resolved": int((live["outcome"] == "AGENT").sum()),
            "abandoned": int((live["outcome"] == "HANG").sum()),
        }
        served_held = int(raw.loc[raw["outcome"] == "AGENT", "held"].notna().sum())
        assert by_status["resolved"] == 27060 + 30861 + 31402 - served_held  # SOURCE.md's AGENT counts
        stored = {r[0] for r in con.execute("SELECT interaction_id FROM interactions").fetchall()}
        assert not stored & set(raw.loc[raw["held"].notna(), "id"])
        unidentified = con.execute(
            "SELECT count(*) FROM interactions WHERE _until IS NULL AND customer_id IS NULL"
        ).fetchone()[0]
        assert unidentified == int((live["customer_id"] == "0").sum())
        queues = dict(
            con.execute("SELECT queue, count(*) FROM interactions WHERE _until IS NULL GROUP BY 1").fetchall()
        )
        assert queues == live["type"].value_counts().to_dict()
        waits = con.execute("SELECT sum(wait_seconds), sum(handle_seconds) FROM interactions").fetchone()
        assert waits[0] == live["q_time"].astype(int).sum()
        assert waits[1] == live.loc[live["outcome"] == "AGENT", "ser_time"].astype(int).sum()
        repeats = con.execute(REPEATS_SQL).fetchone()[0]
        assert repeats == sum(_repeats_pandas(r) for r in raws.values())
        assert repeats > 1000
        # re-importing a month adds nothing
        digest = store.digest()
        again = ingest_mapped(store, "interactions", BANK / "january_1999.txt.gz", "technion-bank", now=NOW)
        _balanced(again)
        assert (again.accepted, again.duplicates, again.quarantined, again.skipped) == (0, 31293, 66, 240)
        assert store.digest() == digest
        print(
            "\nbank:",
            {m: s.to_dict() for m, s in summaries.items()},
            "served",
            by_status["resolved"],
            "abandoned",
            by_status["abandoned"],
            "unidentified",
            unidentified,
            "repeats<=7d",
            repeats,
        )


# Independent figures for the UCI ServiceNow log, in DuckDB SQL over the raw file: per incident, its last event
# and its resolving event (the last in state Resolved), in (sys_updated_at, sys_mod_count, file row) order.
# Resolved or Closed incidents: resolved at resolved_at, else at the resolving event, else (no Resolved event)
# at closed_at; queue and assignee of the resolving event (else of the last); agent: resolved_by, else that
# assignee.
SERVICENOW_SQL = """
WITH e AS (
  SELECT *, strptime(sys_updated_at, '%d/%m/%Y %H:%M') AS t, CAST(sys_mod_count AS INTEGER) AS k
  FROM (SELECT *, row_number() OVER () AS n FROM read_csv({path}, header = true, all_varchar = true, nullstr = '?'))
), last AS (
  SELECT * FROM e QUALIFY row_number() OVER (PARTITION BY number ORDER BY t DESC, k DESC, n DESC) = 1
), resolving AS (
  SELECT * FROM e WHERE incident_state = 'Resolved'
  QUALIFY row_number() OVER (PARTITION BY number ORDER BY t DESC, k DESC, n DESC) = 1
)
SELECT l.number, l.incident_state IN ('Resolved', 'Closed') AS resolved,
       CASE WHEN l.incident_state IN ('Resolved', 'Closed') THEN
         coalesce(strptime(l.resolved_at, '%d/%m/%Y %H:%M'), r.t, strptime(l.closed_at, '%d/%m/%Y %H:%M'))
       END AS resolution,
       strptime(l.closed_at, '%d/%m/%Y %H:%M') AS auto_closed,
       CASE WHEN r.number IS NOT NULL THEN r.assignment_group ELSE l.assignment_group END AS queue,
       coalesce(l.resolved_by, CASE WHEN r.number IS NOT NULL THEN r.assigned_to ELSE l.assigned_to END) AS agent,
       l.assigned_to AS last_assignee
FROM last AS l LEFT JOIN resolving AS r USING (number)
"""


def test_servicenow_incident_log_folded_whole():
    import duckdb

    raw = pd.read_csv(INCIDENTS, dtype=str, keep_default_na=False)
    with FactsStore(":memory:") as store:
        s = ingest_mapped(store, "interactions", INCIDENTS, "servicenow-incidents", timezone="UTC", now=NOW)
        _balanced(s)
        cases = raw["number"].nunique()
        assert (s.unit, s.source_rows, s.rows) == ("cases", len(raw), cases)
        assert (s.source_rows, s.rows) == (141712, 24918)
        raw["t"] = pd.to_datetime(raw["sys_updated_at"], format="%d/%m/%Y %H:%M")
        raw["k"] = raw["sys_mod_count"].astype(int)
        raw["row"] = range(2, len(raw) + 2)
        last = raw.sort_values(["number", "t", "k", "row"]).groupby("number").tail(1).set_index("number")
        bad_state = ~last["incident_state"].isin(
            ["New", "Active", "Resolved", "Closed", "Awaiting User Info", "Awaiting Vendor"]
            + ["Awaiting Problem", "Awaiting Evidence"]
        )
        assert s.quarantined == int(bad_state.sum())
        assert s.accepted == cases - s.quarantined
        con = store.con
        got = dict(con.execute("SELECT status, count(*) FROM interactions GROUP BY 1").fetchall())
        ok = last[~bad_state]
        assert got.get("resolved", 0) == int(ok["incident_state"].isin(["Resolved", "Closed"]).sum())
        reopened_cases = set(raw.loc[raw["reopen_count"].astype(int) > 0, "number"])
        assert con.execute("SELECT count(*) FROM interactions WHERE reopened").fetchone()[0] == len(
            reopened_cases & set(ok.index)
        )
        assert con.execute("SELECT count(*) FROM interactions WHERE channel = 'voice'").fetchone()[0] == int(
            ok["contact_type"].isin(["Phone", "IVR"]).sum()
        )
        callers = con.execute("SELECT count(DISTINCT customer_id) FROM interactions").fetchone()[0]
        assert callers == ok.loc[ok["caller_id"] != "?", "caller_id"].nunique()
        # resolution time: first opened_at to the resolution, resolved cases only
        first_open = pd.to_datetime(
            raw.sort_values(["number", "t", "k", "row"]).groupby("number")["opened_at"].first(),
            format="%d/%m/%Y %H:%M",
        )
        with duckdb.connect() as db:
            want = _frame(db.execute(SERVICENOW_SQL.format(path=f"'{INCIDENTS}'"))).set_index("number")
        rows = _frame(
            con.execute(
                "SELECT interaction_id, status, closed_at, queue, agent_id, handled_by FROM interactions"
            )
        ).set_index("interaction_id")
        want = want.loc[rows.index]
        assert (rows["closed_at"].notna() == want["resolved"]).all()
        assert (rows["closed_at"] == want["resolution"]).all()
        assert (rows["queue"].fillna("-") == want["queue"].fillna("-")).all()
        assert (rows["agent_id"].fillna("-") == want["agent"].fillna("-")).all()
        # the agent who resolved it, even when the incident was unassigned at its automatic closure
        not_handled = int(want["agent"].isna().sum())
        assert int(rows["handled_by"].isna().sum()) == not_handled == 23
        assert int((want["last_assignee"].isna() & want["resolved"]).sum()) == 725  # the last event's
        days = (want["auto_closed"] - want["resolution"]).dt.total_seconds() / 86400
        assert 4.9 < days.median() < 5.1  # the automatic closure follows the resolution by ~5 days
        secs = (
            want.loc[want["resolved"], "resolution"] - first_open[want.index[want["resolved"]]]
        ).dt.total_seconds()
        assert (
            con.execute("SELECT sum(handle_seconds) FROM interactions").fetchone()[0] == secs[secs >= 0].sum()
        )
        # a quarantined case names the source file and its first row
        for q in store.quarantine():
            assert q["file"] == str(INCIDENTS) and q["row"] >= 2 and "case " in q["raw"]
        print("\nincidents:", s.to_dict(), "resolved", got.get("resolved"), "reopened", len(reopened_cases))


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "technion-bank" / "contract.yaml"


def test_bank_example_contract_settles_january(tmp_path):
    """examples/technion-bank: January 1999 settles; resolutions match an independent count."""
    import json

    from typer.testing import CliRunner

    from outcomes.cli import app
    from outcomes.connectors import ingest_with_mapping
    from outcomes.workspace import find_workspace, init_workspace

    ws = init_workspace(tmp_path / "ws")
    ws.close()
    runner = CliRunner()
    res = runner.invoke(app, ["contract", "add", str(EXAMPLE), "-w", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    ws = find_workspace(tmp_path / "ws")
    try:
        for month in ("january", "october"):  # October moves the data clock past January + 7 days
            s = ingest_with_mapping(ws, "interactions", BANK / f"{month}_1999.txt.gz", "technion-bank")
            ws.ledger().record_ingest(s.to_dict())
    finally:
        ws.close()
    res = runner.invoke(
        app,
        ["settle", "technion-bank-callcenter", "--period", "1999-01", "--json", "-w", str(tmp_path / "ws")],
    )
    assert res.exit_code == 0, res.output
    settlement = json.loads(res.output)
    # independent count: served calls of identified customers ending in January (Israel time), with no
    # later call by the same customer within 7 days of the end
    raw = _bank_raw("january")
    calls = _live(raw)
    calls = calls[calls["customer_id"] != "0"]
    calls = calls.sort_values(["customer_id", "opened", "closed", "id"])
    nxt = calls.groupby("customer_id")["opened"].shift(-1)
    repeat = nxt.notna() & (nxt <= calls["closed"] + timedelta(days=7))
    ok = calls[(calls["outcome"] == "AGENT") & ~repeat & (calls["closed"] < pd.Timestamp("1999-02-01"))]
    paid = ok["type"].isin(["PS", "PE", "IN", "NE"])
    fees = {
        tuple(line["workflows"]): int(line["quantity"]) for line in settlement["lines"] if line["outcome"]
    }
    assert fees == {
        ("retail", "internet", "stock_exchange"): int(paid.sum()),
        ("prospects", "general"): int((~paid).sum()),
    }
    print("\nexample contract, January 1999:", int(paid.sum()), "+", int((~paid).sum()), "resolutions")


def test_helpdesk_event_log_folded_whole():
    path = DATA / "helpdesk_event_log" / "helpdesk.csv.gz"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["row"] = range(2, len(raw) + 2)
    with FactsStore(":memory:") as store:
        s = ingest_mapped(store, "interactions", path, "helpdesk-events", now=NOW)
        _balanced(s)
        assert (s.unit, s.source_rows, s.rows) == ("cases", len(raw), raw["case:concept:name"].nunique())
        assert (s.source_rows, s.rows, s.accepted) == (21348, 4580, 4580)
        last = (
            raw.sort_values(["case:concept:name", "time:timestamp", "row"])
            .groupby("case:concept:name")
            .tail(1)
        )
        resolved = int(last["concept:name"].isin(["Closed", "Resolve ticket"]).sum())
        con = store.con
        assert (
            con.execute("SELECT count(*) FROM interactions WHERE status = 'resolved'").fetchone()[0]
            == resolved
        )
        resolves = raw[raw["concept:name"] == "Resolve ticket"].groupby("case:concept:name").size()
        assert con.execute("SELECT count(*) FROM interactions WHERE reopened").fetchone()[0] == int(
            (resolves > 1).sum()
        )
        assert (
            con.execute("SELECT count(*) FROM interactions WHERE customer_id IS NULL").fetchone()[0] == 4580
        )
        print("\nhelpdesk:", s.to_dict(), "resolved", resolved, "reopened", int((resolves > 1).sum()))


# Independent figures for the VINST log, in DuckDB SQL over the raw file: per SR, its changes in time order
# (then file order); the SR is resolved when its last change is Completed, resolved at its last Resolved /
# In Call / Cancelled change (whose team and Resource are the queue and agent); reopened when a non-Completed
# change is later than a Completed one.
BPI_SQL = """
WITH e AS (
  SELECT "SR Number" AS sr, CAST("Change Date+Time" AS TIMESTAMPTZ) AS t, n, "Status" AS st,
         "Sub Status" AS sub, "Involved ST" AS team, "Resource" AS who
  FROM (SELECT *, row_number() OVER () AS n FROM read_csv({path}, header = true, all_varchar = true))
), last AS (
  SELECT * FROM e QUALIFY row_number() OVER (PARTITION BY sr ORDER BY t DESC, n DESC) = 1
), resolving AS (
  SELECT * FROM e WHERE sub IN ('Resolved', 'In Call', 'Cancelled')
  QUALIFY row_number() OVER (PARTITION BY sr ORDER BY t DESC, n DESC) = 1
), reopened AS (
  SELECT DISTINCT c.sr FROM e AS c JOIN e AS o
    ON o.sr = c.sr AND c.st = 'Completed' AND o.st <> 'Completed' AND o.t > c.t
)
SELECT l.sr, l.st = 'Completed' AS resolved, l.sub AS last_sub,
       CASE WHEN l.st = 'Completed' THEN CAST(r.t AS TIMESTAMP) END AS closed_at,  -- UTC
       CASE WHEN l.st = 'Completed' THEN r.team ELSE l.team END AS queue,
       CASE WHEN l.st = 'Completed' THEN r.who ELSE l.who END AS agent,
       l.sr IN (SELECT sr FROM reopened) AS reopened
FROM last AS l LEFT JOIN resolving AS r USING (sr)
"""


def test_bpi2013_event_log_folded_whole():
    import duckdb

    path = DATA / "bpi2013_volvo_it_incidents" / "VINST-new.csv.gz"
    with duckdb.connect() as raw:
        raw.execute("SET TimeZone = 'UTC'")
        want = _frame(raw.execute(BPI_SQL.format(path=f"'{path}'"))).set_index("sr")
    assert len(want) == 7554
    assert int(want["reopened"].sum()) == 514
    assert int((want["last_sub"] == "In Call").sum()) == 1882
    with FactsStore(":memory:") as store:
        s = ingest_mapped(store, "interactions", path, "bpi2013-incidents", now=NOW)
        _balanced(s)
        assert (s.unit, s.source_rows, s.rows, s.accepted) == ("cases", 65533, 7554, 7554)
        con = store.con
        got = (
            _frame(
                con.execute(
                    "SELECT interaction_id, status, closed_at, queue, agent_id, handled_by, reopened, handle_seconds, "
                    "opened_at FROM interactions WHERE _until IS NULL"
                )
            )
            .set_index("interaction_id")
            .loc[want.index]
        )
        # a close time only on a resolved SR, and every resolved SR has one
        assert ((got["status"] == "resolved") == got["closed_at"].notna()).all()
        assert ((got["status"] == "resolved") == want["resolved"]).all()
        assert int(want["resolved"].sum()) == 7546
        # Completed / In Call is resolved, at that change
        in_call = want["last_sub"] == "In Call"
        assert (got.loc[in_call, "status"] == "resolved").all()
        resolved = want["resolved"]
        assert (got.loc[resolved, "closed_at"] == want.loc[resolved, "closed_at"]).all()
        assert (got["queue"] == want["queue"]).all()
        assert (got["agent_id"] == want["agent"]).all()
        assert not got["agent_id"].str.endswith("-Siebel").any()  # the system's automatic closure
        assert (got["handled_by"] == "agent").all()
        assert (got["reopened"] == want["reopened"]).all()
        assert int(got["reopened"].sum()) == 514
        assert not got.loc["1-467153946", "reopened"] and got.loc["1-364285768", "reopened"]
        secs = (got["closed_at"] - got["opened_at"]).dt.total_seconds()
        assert (got.loc[resolved, "handle_seconds"] == secs[resolved]).all()
        print(
            "\nbpi2013:",
            s.to_dict(),
            "resolved",
            int(want["resolved"].sum()),
            "in call",
            int(in_call.sum()),
            "reopened",
            int(want["reopened"].sum()),
        )


def test_kaggle_tickets_whole():
    path = DATA / "kaggle_customer_support_tickets_synthetic" / "customer_support_tickets.csv.gz"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    with FactsStore(":memory:") as store:
        s = ingest_mapped(store, "interactions", path, "kaggle-tickets", timezone="UTC", now=NOW)
        _balanced(s)
        assert s.rows == len(raw) == 8469
        no_response = int((raw["First Response Time"] == "").sum())
        has_both = raw[(raw["First Response Time"] != "") & (raw["Time to Resolution"] != "")]
        backwards = int((has_both["Time to Resolution"] < has_both["First Response Time"]).sum())
        assert s.reasons == {"bad_timestamp": no_response, "closed_before_opened": backwards}
        assert s.accepted == len(raw) - no_response - backwards
        csat = store.con.execute("SELECT count(csat) FROM interactions").fetchone()[0]
        ok = raw[(raw["First Response Time"] != "")]
        ok = ok[~((ok["Time to Resolution"] != "") & (ok["Time to Resolution"] < ok["First Response Time"]))]
        assert csat == int((ok["Customer Satisfaction Rating"] != "").sum())
        print("\nkaggle:", s.to_dict())
