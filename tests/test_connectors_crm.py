"""CRM (customer event) connectors: mapping parameters (``params``, ``${NAME}``), several events per source
row (``emit``), and the built-in churn-table mappings checked on the shared data against independent counts
computed here with pandas over the raw CSV files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from outcomes.cli.mapping import mapping_app, parse_params
from outcomes.connectors import MappingError, check_mapping, ingest_mapped, load_mapping
from outcomes.facts import FactsStore

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IBM = DATA / "ibm_telco_churn" / "Telco-Customer-Churn.csv"
BIGML = [DATA / "bigml_telecom_churn" / f for f in ("churn-bigml-80.csv", "churn-bigml-20.csv")]
NOW = datetime(2026, 11, 23, tzinfo=UTC)
AS_OF = {"as_of": "2026-10-31"}

real_data = pytest.mark.skipif(not IBM.is_file(), reason="shared data not available")


def _balanced(s) -> None:
    assert s.rows == s.accepted + s.duplicates + s.updated + s.quarantined + s.skipped
    assert sum(s.reasons.values()) == s.quarantined + s.skipped


def _visible(store: FactsStore, sql: str):
    """Run ``sql`` on the visible events (``FROM events`` gets ``WHERE _until IS NULL``)."""
    return store.con.execute(
        sql.replace("FROM events", "FROM events WHERE _until IS NULL AND true")
    ).fetchall()


@pytest.fixture
def store():
    with FactsStore(":memory:") as s:
        yield s


# --- the built-in mappings on the shared data -------------------------------------------------------


@real_data
def test_ibm_telco_churn_whole(store):
    raw = pd.read_csv(IBM, dtype=str)
    churn = int((raw["Churn"] == "Yes").sum())
    revenue = sum(Decimal(v) for v in raw["MonthlyCharges"])
    s = ingest_mapped(store, "events", IBM, "ibm-telco-churn", params=AS_OF, now=NOW)
    _balanced(s)
    assert (s.unit, s.source_rows) == ("events", len(raw))
    # one renewed event per customer, one churned event per Churn=Yes row
    assert s.rows == len(raw) + churn == s.accepted
    assert (s.quarantined, s.skipped, s.duplicates) == (0, 0, 0)
    counts = dict(_visible(store, "SELECT event, count(*) FROM events GROUP BY 1"))
    assert counts == {"renewed": len(raw), "churned": churn} and churn == 1869
    got = _visible(store, "SELECT sum(monthly_revenue) FROM events")[0][0]
    assert got == revenue == Decimal("456116.60")
    churned_ids = {r[0] for r in _visible(store, "SELECT customer_id FROM events AND event = 'churned'")}
    assert churned_ids == set(raw.loc[raw["Churn"] == "Yes", "customerID"])
    # placement: churn at as_of; the start tenure months before (month clamped: 31 Oct - 1 month = 30 Sep)
    assert {r[0] for r in _visible(store, "SELECT \"at\" FROM events AND event = 'churned'")} == {
        datetime(2026, 10, 31)
    }
    at = dict(_visible(store, "SELECT customer_id, \"at\" FROM events AND event = 'renewed'"))
    assert at["7590-VHVEG"] == datetime(2026, 9, 30)  # tenure 1
    assert at["5575-GNVDE"] == datetime(2023, 12, 31)  # tenure 34
    again = ingest_mapped(store, "events", IBM, "ibm-telco-churn", params=AS_OF, now=NOW)
    _balanced(again)
    assert (again.rows, again.duplicates, again.accepted, again.updated) == (s.rows, s.rows, 0, 0)


@real_data
def test_bigml_telecom_churn_whole(store):
    raws = [pd.read_csv(f, dtype=str) for f in BIGML]
    summaries = [
        ingest_mapped(store, "events", f, "bigml-telecom-churn", params=AS_OF, now=NOW) for f in BIGML
    ]
    for raw, s in zip(raws, summaries, strict=True):
        _balanced(s)
        churn = int((raw["Churn"].str.lower() == "true").sum())
        assert (s.unit, s.source_rows) == ("events", len(raw))
        assert s.rows == s.accepted == len(raw) + churn
        assert (s.quarantined, s.skipped, s.duplicates) == (0, 0, 0)
    raw = pd.concat(raws, ignore_index=True)
    churn = int((raw["Churn"].str.lower() == "true").sum())
    assert (len(raw), churn) == (3328, 481)
    counts = dict(_visible(store, "SELECT event, count(*) FROM events GROUP BY 1"))
    assert counts == {"renewed": len(raw), "churned": churn}
    # the formed customer id is unique: one renewed event, hence one distinct id, per source row
    assert _visible(store, "SELECT count(DISTINCT customer_id) FROM events")[0][0] == len(raw)
    charges = ["Total day charge", "Total eve charge", "Total night charge", "Total intl charge"]
    per_row = raw[charges].astype(float).sum(axis=1).round(2)
    expected = sum(Decimal(f"{v:.2f}") for v in per_row)
    assert _visible(store, "SELECT sum(monthly_revenue) FROM events")[0][0] == expected
    # the churned customers are the Churn=True rows (matched by the state and area code in the id)
    churned = _visible(store, "SELECT customer_id FROM events AND event = 'churned'")
    by_state = raw[raw["Churn"].str.lower() == "true"].groupby(["State", "Area code"]).size()
    got = pd.Series([c[0].rsplit("-", 1)[0] for c in churned]).value_counts()
    assert got.to_dict() == {f"{st}-{ac}": n for (st, ac), n in by_state.items()}
    first = _visible(store, "SELECT \"at\" FROM events AND event = 'renewed' AND customer_id LIKE 'KS-415-%'")
    assert datetime(2026, 6, 25) in {r[0] for r in first}  # KS, 128 days, 415 (first row)
    for f, s in zip(BIGML, summaries, strict=True):
        again = ingest_mapped(store, "events", f, "bigml-telecom-churn", params=AS_OF, now=NOW)
        assert (again.rows, again.duplicates, again.accepted) == (s.rows, s.rows, 0)


@real_data
@pytest.mark.parametrize("name,file", [("ibm-telco-churn", IBM), ("bigml-telecom-churn", BIGML[1])])
def test_missing_as_of_is_a_clear_error(store, name, file):
    with pytest.raises(MappingError) as exc:
        ingest_mapped(store, "events", file, name, now=NOW)
    text = str(exc.value)
    assert repr(name) in text and "'as_of'" in text and "--param as_of=" in text
    assert store.con.execute("SELECT count(*) FROM batches").fetchone()[0] == 0
    with pytest.raises(MappingError, match="must be a date YYYY-MM-DD"):
        ingest_mapped(store, "events", file, name, params={"as_of": "31/10/2026"}, now=NOW)
    with pytest.raises(MappingError, match="has no parameter 'asof'"):
        ingest_mapped(store, "events", file, name, params={"asof": "2026-10-31"}, now=NOW)


@real_data
def test_mapping_check_cli_with_param():
    runner = CliRunner()
    res = runner.invoke(
        mapping_app, ["check", "ibm-telco-churn", str(IBM), "--param", "as_of=2026-10-31", "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["unit"] == "events" and data["summary"]["accepted"] == 7043 + 1869
    res = runner.invoke(mapping_app, ["check", "ibm-telco-churn", str(IBM)])
    assert res.exit_code == 1
    res = runner.invoke(mapping_app, ["list", "--json"])
    listed = {r["name"]: r for r in json.loads(res.output)}
    assert listed["bigml-telecom-churn"]["params"]["as_of"]["required"] is True


# --- the general mechanisms, on a small file ------------------------------------------------------------

SUBS = """id,plan_fee,status,months,extra
a,10.50,active,3,
b,20,cancelled,12,5
c,7,deleted,1,
d,8,trial,0,
"""

MAPPING = """
name: subs
kind: events
source_fields: [id, plan_fee, status, months, extra]
read: {quote: '"'}
timezone: UTC
params:
  as_of: {type: date, required: true}
  label: {default: "x"}
columns:
  customer_id: {template: "${label}-{id}"}
emit:
  - when: {status: [active, cancelled]}
    columns:
      event: {value: renewed}
      at: {sql: "CAST(${as_of} - to_months(CAST(months AS INTEGER)) AS TIMESTAMP)"}
      monthly_revenue: plan_fee
  - when: {status: cancelled}
    columns: {event: {value: churned}, at: {sql: "CAST(${as_of} AS TIMESTAMP)"}}
  - when: "TRY_CAST(extra AS DOUBLE) > 0"
    columns: {event: {value: purchase}, at: {sql: "CAST(${as_of} AS TIMESTAMP)"}, amount: extra}
skip:
  - {when: {status: deleted}, reason: deleted_account}
"""


def _files(tmp_path: Path, mapping: str = MAPPING) -> tuple[Path, Path]:
    m, f = tmp_path / "subs.yaml", tmp_path / "subs.csv"
    m.write_text(mapping)
    f.write_text(SUBS)
    return m, f


def test_emit_and_params(store, tmp_path):
    m, f = _files(tmp_path)
    s = ingest_mapped(store, "events", f, m, params={"as_of": "2026-10-31"}, now=NOW)
    _balanced(s)
    # a: renewed; b: renewed, churned, purchase; c: skipped (its rule); d: no event holds -> skipped
    assert (s.unit, s.source_rows, s.rows, s.accepted, s.skipped) == ("events", 4, 6, 4, 2)
    assert s.reasons == {"deleted_account": 1, "no_event": 1}
    rows = store.con.execute(
        'SELECT customer_id, event, "at", amount, monthly_revenue FROM events ORDER BY 1, 2'
    ).fetchall()
    assert rows == [
        ("x-a", "renewed", datetime(2026, 7, 31), None, Decimal("10.50")),
        ("x-b", "churned", datetime(2026, 10, 31), None, None),
        ("x-b", "purchase", datetime(2026, 10, 31), Decimal("5.00"), None),
        ("x-b", "renewed", datetime(2025, 10, 31), None, Decimal("20.00")),
    ]
    again = ingest_mapped(store, "events", f, m, params={"as_of": "2026-10-31", "label": "x"}, now=NOW)
    assert (again.rows, again.duplicates, again.skipped) == (6, 4, 2)
    # quarantined emitted events name the source row
    bad = tmp_path / "bad.csv"
    bad.write_text("id,plan_fee,status,months,extra\ne,-3,cancelled,2,\n")
    s = ingest_mapped(store, "events", bad, m, params={"as_of": "2026-10-31"}, now=NOW)
    assert (s.rows, s.accepted, s.quarantined) == (2, 1, 1)
    assert store.con.execute('SELECT "row" FROM quarantine').fetchall() == [(2,)]


def test_params_errors(store, tmp_path):
    m, f = _files(tmp_path)
    with pytest.raises(MappingError, match=r"mapping 'subs' needs parameter 'as_of'"):
        ingest_mapped(store, "events", f, m, now=NOW)
    with pytest.raises(MappingError, match=r"\$\{when\} is used but not declared"):
        load_mapping(_files(tmp_path, MAPPING.replace("${label}-", "${when}-"))[0])
    with pytest.raises(MappingError, match="emit and fold cannot be combined"):
        load_mapping(_files(tmp_path, MAPPING + "fold: {case: id, order: [{from: months}]}\n")[0])
    report = check_mapping(_files(tmp_path)[0], f, params={"as_of": "2026-10-31"})
    assert report.unit == "events" and report.summary["accepted"] == 4 and not report.problems


def test_parse_params():
    assert parse_params(["as_of=2026-10-31", "q=a=b"]) == {"as_of": "2026-10-31", "q": "a=b"}
    assert parse_params(None) == {}
    with pytest.raises(MappingError, match="KEY=VALUE"):
        parse_params(["as_of"])
    with pytest.raises(MappingError, match="given twice"):
        parse_params(["a=1", "a=2"])
