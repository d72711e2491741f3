"""Conformance: the same scenarios settled on DuckDB and on Spark give identical results (docs/spark.md).

Each case is a scenario (a few lines of contract, a small table) ingested into the DuckDB store, exported
to Parquet with `outcomes facts export`'s function, and settled twice: by the DuckDB store and by
`SparkFacts` over the Parquet copy. Both must give the same counts by fate and reason, the same evidence
rows, the same invoice lines and total, the same metric values and the same settlement fingerprint (the
digest is recomputed by Spark from `_hash`). One local Spark session (`local[2]`) serves every case.

Under CI (CI=true) a missing Java or pyspark fails these tests; elsewhere it skips them.
"""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SCENARIO_NOW, WORKED_MONTH, Scenario
from outcomes.facts.export import export_parquet

runner = CliRunner()
pytestmark = pytest.mark.spark


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}: CI must run the Spark conformance suite (Java 17 and pyspark are required)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        _unavailable(f"pyspark cannot be imported ({exc})")
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        _unavailable("no Java found (java on PATH or JAVA_HOME)")
    from outcomes.facts.spark import spark_session

    session = spark_session(
        "local[2]",
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
            # tiny tables: adaptive re-planning and the optimising JIT cost more than they save (3x faster)
            "spark.sql.adaptive.enabled": "false",
            "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
        },
        app_name="outcomes-conformance",
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def both(spark, scenario, tmp_path):
    """make(contract_yaml) -> Scenario; settle(s, period, ...) -> (duckdb result, spark result), compared."""
    from outcomes.facts.spark import SparkFacts

    opened: list[SparkFacts] = []

    def spark_facts(s: Scenario) -> SparkFacts:
        folder = tmp_path / f"parquet{len(opened)}"
        export_parquet(s.ws.facts(), folder)
        # one evidence folder per scenario: a later export of the same scenario finds its earlier evidence
        sf = SparkFacts(spark, parquet=str(folder), evidence_path=str(s.root / "spark-evidence"))
        opened.append(sf)
        return sf

    yield scenario, spark_facts
    for sf in opened:
        sf.close()


def _evidence_rows(facts, table: str) -> list[tuple]:
    rows = facts.evidence(table).to_pyarrow().to_pylist()
    return sorted((tuple(r.items()) for r in rows), key=repr)


def _same(duck, spark_facts, s: Scenario, period: str, *, provisional: bool = False, as_of_batch=None):
    """Settle `period` on both engines and assert every result is identical; return both results."""
    from outcomes.settlement.settle import compute

    results = []
    for facts in (duck, spark_facts):
        results.append(
            compute(
                s.ws.ledger(),
                facts,
                s.contract.contract,
                period,
                provisional=provisional,
                as_of_batch=as_of_batch,
            )
        )
    d, k = results
    assert d.input_digest == k.input_digest
    assert d.fingerprint == k.fingerprint
    assert d.facts_batch == k.facts_batch
    assert d.status == k.status
    assert [(m.name, m.kind, m.rows) for m in d.measures] == [(m.name, m.kind, m.rows) for m in k.measures]
    assert [m.summary() for m in d.measures] == [m.summary() for m in k.measures]
    ev_d = _evidence_rows(duck, d.measures[0].evidence_table) if d.measures else []
    ev_k = _evidence_rows(spark_facts, k.measures[0].evidence_table) if k.measures else []
    assert ev_d == ev_k
    invoice_d, invoice_k = (_without_uuid(r) for r in results)
    assert invoice_d["lines"] == invoice_k["lines"]
    assert invoice_d["total"] == invoice_k["total"]
    assert invoice_d == invoice_k  # notices, service-level results and metric values too
    assert ev_d, "the case should produce evidence"
    return d, k, [dict(r) for r in ev_d]


def _without_uuid(result) -> dict:
    text = json.dumps(result.to_dict(), default=str, sort_keys=True)
    return json.loads(text.replace(result.uuid, "<uuid>"))


def _fate(evidence: list[dict], outcome: str, interaction_id: str) -> tuple:
    (row,) = [r for r in evidence if r["outcome"] == outcome and r["interaction_id"] == interaction_id]
    return row["status"], row["reason"], row["repeat_id"]


CONTRACT = """
contract: t
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: Europe/London
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
billable_providers: [p]
workflows:
  refunds: {queues: [refunds]}
  tech: {queues: [tech]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
    min_csat: 3
  containment:
    kind: containment
    repeat_contact: {within: 72h, same: [customer], channels: any}
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, workflows: [refunds], tiers: volume, prices: [{up_to: 1, unit: "7.00"}, {unit: "5.00"}]}
    - {outcome: resolution, workflows: [tech, general], unit: "4.00"}
    - {outcome: containment, unit: "1.00"}
service_levels:
  at_risk: "0.10"
  measures:
    - {metric: csat_top2box, target: ">= 0.80", weight: "0.5"}
    - {metric: service_level, target: ">= 0.80", weight: "0.5", threshold: 20s}
"""

SAVE_CONTRACT = """
contract: t
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: Europe/London
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
workflows:
  retention: {queues: [retention]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
  save:
    kind: save
    retained_for: 90d
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, workflows: [general], unit: "5.00"}
    - {outcome: save, workflows: [retention], unit: "10.00"}
  value_share: {metric: revenue_retained, share: "0.10", baseline: "20.00"}
"""


def test_the_worked_month_settles_identically(both):
    make, spark_facts = both
    s = make((WORKED_MONTH / "contract.yaml").read_text())
    summary = s.ws.facts().ingest("interactions", WORKED_MONTH / "interactions.csv", now=SCENARIO_NOW)
    assert summary.accepted == 14
    sf = spark_facts(s)
    d, k, evidence = _same(s.ws.facts(), sf, s, "2026-10")
    assert k.to_dict()["total"] == "2030.00"  # the hand-settled invoice (../shared/examples/worked-month)
    # the evidence is also a table of the engine's Ibis backend by its own name, as on DuckDB
    assert sf.ibis().table(k.measures[0].evidence_table).count().to_pyarrow().as_py() == len(evidence)
    assert _fate(evidence, "resolution", "w4") == ("excluded", "repeat_contact", "w5")


def test_every_exclusion_reason_and_the_service_levels_agree(both):
    make, spark_facts = both
    s = make(CONTRACT)
    s.rows("""
        ok,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,5,p,false,,10
        ok2,crm,a2,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,4,p,false,,30
        src,export,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,p,true,,
        prov,crm,c,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,q,true,,
        bot,crm,d,bot,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,bot,,p,false,,
        aband,crm,e,voice,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,abandoned,agent,,p,false,,40
        reop,crm,f,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,1,p,true,,
        low,crm,g,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,2,p,false,,
        anon,crm,,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,p,false,,
        first,crm,h,chat,general,2026-10-03T09:00:00Z,2026-10-03T09:10:00Z,resolved,agent,,p,false,,
        again,crm,h,email,general,2026-10-05T09:00:00Z,2026-10-05T10:00:00Z,resolved,agent,,p,false,,
    """)
    d, k, evidence = _same(s.ws.facts(), spark_facts(s), s, "2026-10")
    reasons = {r["reason"] for r in evidence if r["status"] == "excluded"}
    assert reasons == {
        "wrong_source", "other_provider", "not_handled_by", "not_resolved", "reopened", "low_csat",
        "unverifiable_customer", "repeat_contact",
    }  # fmt: skip
    assert k.measure_results and k.metric_values  # service levels were measured on Spark too


def test_no_workflow_agrees(both):
    make, spark_facts = both
    s = make(CONTRACT.replace("  general: {default: true}\n", "").replace("[tech, general]", "[tech]"))
    s.rows("""
        x,crm,a,chat,unknown_queue,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        y,crm,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
    """)
    _, _, evidence = _same(s.ws.facts(), spark_facts(s), s, "2026-10")
    assert _fate(evidence, "resolution", "x") == ("excluded", "no_workflow", None)


def test_split_tickets_in_the_same_second_and_an_open_ticket_order_alike(both):
    make, spark_facts = both
    s = make(CONTRACT)
    # B1 and a1: same customer, same opening and closing second ('B' < 'a' as bytes); s1/s2 open together
    # and close apart; 'still' is open (closed_at NULL) and opened with 'done': nulls sort last on both.
    s.rows("""
        a1,crm,k,chat,refunds,2026-10-10T09:00:00Z,2026-10-10T09:05:00Z,resolved,agent,,p,false,,
        B1,crm,k,chat,refunds,2026-10-10T09:00:00Z,2026-10-10T09:05:00Z,resolved,agent,,p,false,,
        s1,crm,m,email,refunds,2026-10-11T09:00:00Z,2026-10-11T09:30:00Z,resolved,agent,,p,false,,
        s2,crm,m,email,refunds,2026-10-11T09:00:00Z,2026-10-11T09:20:00Z,resolved,agent,,p,false,,
        s3,crm,m,email,refunds,2026-10-11T09:00:05Z,2026-10-11T09:40:00Z,resolved,agent,,p,false,,
        done,crm,n,chat,refunds,2026-10-12T09:00:00Z,2026-10-12T09:05:00Z,resolved,agent,,p,false,,
        still,crm,n,chat,refunds,2026-10-12T09:00:00Z,,open,agent,,p,false,,
    """)
    _, _, evidence = _same(s.ws.facts(), spark_facts(s), s, "2026-10")
    assert _fate(evidence, "resolution", "B1") == ("excluded", "repeat_contact", "a1")
    assert _fate(evidence, "resolution", "s2") == ("excluded", "repeat_contact", "s1")
    assert _fate(evidence, "resolution", "done") == ("excluded", "repeat_contact", "still")


def test_a_repeat_on_another_channel_and_a_window_crossing_the_period_end_agree(both):
    make, spark_facts = both
    s = make(CONTRACT)
    s.rows("""
        c1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        c2,crm,a,voice,refunds,2026-10-02T09:00:00Z,2026-10-02T09:01:00Z,abandoned,agent,,q,false,,
        d1,crm,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        d2,other,b,voice,refunds,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,p,false,,
        edge,crm,e,chat,refunds,2026-10-28T09:00:00Z,2026-10-28T10:00:00Z,resolved,agent,,p,false,,
        edge2,crm,e,chat,refunds,2026-11-04T10:00:00Z,2026-11-04T10:30:00Z,resolved,agent,,p,false,,
        past,crm,f,chat,refunds,2026-10-28T09:00:00Z,2026-10-28T10:00:00Z,resolved,agent,,p,false,,
        past2,crm,f,chat,refunds,2026-11-04T10:00:01Z,2026-11-04T10:30:00Z,resolved,agent,,p,false,,
    """)
    _, _, evidence = _same(s.ws.facts(), spark_facts(s), s, "2026-10")
    assert _fate(evidence, "resolution", "c1") == ("excluded", "repeat_contact", "c2")
    assert _fate(evidence, "resolution", "d1")[0] == "counted"
    # exactly 7 x 86,400 s later, across the DST change and the period end: still a repeat
    assert _fate(evidence, "resolution", "edge") == ("excluded", "repeat_contact", "edge2")
    assert _fate(evidence, "resolution", "past")[0] == "counted"


def test_a_provisional_settlement_with_open_windows_agrees(both):
    make, spark_facts = both
    s = make(CONTRACT)
    s.rows(
        """
        a1,crm,a,chat,refunds,2026-10-30T09:00:00Z,2026-10-31T09:10:00Z,resolved,agent,,p,false,,
        late,crm,b,chat,refunds,2026-11-06T09:00:00Z,,open,agent,,p,false,,
    """,
        clock=False,
    )
    d, _, evidence = _same(s.ws.facts(), spark_facts(s), s, "2026-10", provisional=True)
    assert d.status == "provisional"
    assert _fate(evidence, "resolution", "a1")[0] == "pending"


def test_saves_with_churn_and_revenue_agree_to_the_cent(both):
    make, spark_facts = both
    s = make(SAVE_CONTRACT)
    s.rows("""
        k1,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        k2,crm,b,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        k3,crm,c,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        k4,crm,c,voice,retention,2026-10-20T09:00:00Z,2026-10-20T09:10:00Z,resolved,agent,,,false,cancel,
        k5,crm,e,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,billing,
    """)
    s.events("""
        a,renewed,2026-01-01T00:00:00Z,,50.00
        a,renewed,2026-09-01T00:00:00Z,,60.00
        a,renewed,2026-11-01T00:00:00Z,,70.00
        b,renewed,2026-01-01T00:00:00Z,,40.00
        b,churned,2026-12-01T00:00:00Z,,
        c,renewed,2026-01-01T00:00:00Z,,30.33
        z,renewed,2027-03-01T00:00:00Z,,1.00
    """)
    d, k, evidence = _same(s.ws.facts(), spark_facts(s), s, "2026-10")
    assert _fate(evidence, "save", "k2")[:2] == ("excluded", "churned")
    assert _fate(evidence, "save", "k3")[:2] == ("excluded", "duplicate_save")
    save = next(m for m in k.measures if m.name == "save")
    assert save.value() == Decimal("90.33")  # 60.00 + 30.33, the latest revenue known at each save
    assert any(ln["kind"] == "value_share" for ln in k.to_dict()["lines"])


def test_an_as_of_batch_read_after_an_update_agrees(both):
    make, spark_facts = both
    s = make(CONTRACT)
    s.rows("""
        u1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,5,p,false,,
        u2,crm,b,chat,tech,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,4,p,false,,
    """)
    s.rows(  # batch 2: u1's survey comes back low, u2 unchanged (a duplicate)
        """
        u1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,p,false,,
        u2,crm,b,chat,tech,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,4,p,false,,
    """,
        clock=False,
    )
    duck, sf = s.ws.facts(), spark_facts(s)
    assert duck.latest_batch() == sf.latest_batch() == 2
    _, before, ev_before = _same(duck, sf, s, "2026-10", as_of_batch=1)
    _, now, ev_now = _same(duck, sf, s, "2026-10")
    assert _fate(ev_before, "resolution", "u1")[0] == "counted"
    assert _fate(ev_now, "resolution", "u1")[:2] == ("excluded", "low_csat")
    assert before.input_digest != now.input_digest
    assert sf.tampered_rows(2) == {"interactions": 0, "events": 0}


def test_a_workspace_settles_explains_and_reruns_on_spark(spark, tmp_path, monkeypatch):
    """The CLI end to end: ingest into DuckDB, export, then settle, explain and rerun with engine = spark."""
    from outcomes.cli import app

    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["facts", "export", str(tmp_path / "pq"), "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    exported = json.loads(r.output)
    assert exported["rows"]["interactions"] == 14 and exported["latest_batch"] == 1

    monkeypatch.setenv("OUTCOMES_FACTS_ENGINE", "spark")
    monkeypatch.setenv("OUTCOMES_SPARK_PARQUET", str(tmp_path / "pq"))
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-10", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    invoice = json.loads(r.output)
    assert invoice["total"] == "2030.00"
    table = invoice["lines"][1]["details"]["evidence_table"]
    assert (ws / "evidence" / table).is_dir()  # Spark wrote the evidence as Parquet in the workspace

    r = runner.invoke(app, ["explain", "worked-example/2026-10", "2", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    (part,) = json.loads(r.output)
    assert {x["interaction_id"] for x in part["samples"] if x["status"] == "counted"} == {
        "w1",
        "w2",
        "w10",
        "w13",
    }
    assert "LEAD" in part["sql"] and "`" in part["sql"]  # the SQL Spark ran, in Spark's dialect

    r = runner.invoke(app, ["rerun", "worked-example/2026-10", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["ok"] and report["tampered_rows"] == {"interactions": 0, "events": 0}

    r = runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws)])
    assert r.exit_code == 1 and "OUTCOMES_FACTS_ENGINE=duckdb" in r.output

    monkeypatch.delenv("OUTCOMES_FACTS_ENGINE")
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-10", "-w", str(ws)])
    assert r.exit_code == 1 and "same fingerprint" in r.output  # DuckDB sees the fingerprint Spark recorded


def test_catalog_tables_by_name_settle_like_the_parquet_folder(both, spark, tmp_path):
    """Facts as tables of the session's catalog (as a Hive metastore would hold them), evidence as tables too."""
    from outcomes.facts.spark import SparkFacts

    make, spark_facts = both
    s = make((WORKED_MONTH / "contract.yaml").read_text())
    s.ws.facts().ingest("interactions", WORKED_MONTH / "interactions.csv", now=SCENARIO_NOW)
    export_parquet(s.ws.facts(), tmp_path / "to_catalog")
    spark.sql("CREATE DATABASE IF NOT EXISTS conformance_facts")
    spark.sql("CREATE DATABASE IF NOT EXISTS conformance_evidence")
    for name in ("interactions", "events", "batches"):
        df = spark.read.parquet(str(tmp_path / "to_catalog" / name))
        if name == "interactions":  # stored as instants (TIMESTAMP), as many warehouses do: read back at UTC
            for column in ("opened_at", "first_response_at", "closed_at"):
                df = df.withColumn(column, df[column].cast("timestamp_ltz"))
        df.write.mode("overwrite").saveAsTable(f"conformance_facts.{name}")
    stored = dict(spark.table("conformance_facts.interactions").dtypes)
    assert stored["opened_at"] == "timestamp"  # TIMESTAMP, not TIMESTAMP_NTZ
    tables = {n: f"conformance_facts.{n}" for n in ("interactions", "events", "batches")}
    with SparkFacts(spark, tables=tables, evidence_database="conformance_evidence") as catalog:
        d, k, evidence = _same(s.ws.facts(), catalog, s, "2026-10")
        table = k.measures[0].evidence_table
        assert catalog.has_table(table)
        assert spark.catalog.tableExists(table, "conformance_evidence")
        catalog.drop_table(table)
        assert not catalog.has_table(table)
    assert k.to_dict()["total"] == "2030.00"


def test_an_adjustment_for_a_changed_earlier_period_agrees(both):
    """October settled (and recorded) on each engine, then a fact of October changes: November bills the
    difference with the same lines and the same fate changes on both."""
    import re

    from outcomes.settlement.settle import compute, settle

    make, spark_facts = both
    novembers = []
    for engine in ("duckdb", "spark"):
        s = make(CONTRACT)
        s.rows("""
            u1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,5,p,false,,
            u2,crm,b,chat,tech,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,4,p,false,,
        """)
        facts = s.ws.facts() if engine == "duckdb" else spark_facts(s)
        settle(s.ws.ledger(), facts, s.contract.contract, "2026-10")
        s.rows(  # u1's survey comes back low after October was settled
            """
            u1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,p,false,,
        """,
            clock=False,
        )
        facts = s.ws.facts() if engine == "duckdb" else spark_facts(s)
        november = compute(s.ws.ledger(), facts, s.contract.contract, "2026-11")
        text = json.dumps(november.to_dict(), default=str, sort_keys=True)
        novembers.append(json.loads(re.sub(r"evidence_(adj_)?[0-9a-f]{12}", "<evidence>", text)))
    duck, spark_side = novembers
    assert duck == spark_side
    adjustments = {
        ln["details"]["adjusts"]["kind"]: ln for ln in spark_side["lines"] if ln["kind"] == "adjustment"
    }
    assert set(adjustments) == {"outcome_fee", "service_credit"}  # csat_top2box fell too
    adjustment = adjustments["outcome_fee"]
    assert adjustment["amount"] == "-7.00"  # u1 no longer counts in October's refunds tier
    changes = adjustment["details"]["fate_changes"]
    assert changes == [
        {
            "outcome": "resolution",
            "before": "counted",
            "after": "excluded:low_csat",
            "contacts": 1,
            "ids": ["u1"],
            "repeat_ids": None,
        }
    ]


# -- settings: no Spark needed ----------------------------------------------------------------------------


def _settings(tmp_path: Path, facts_toml: str):
    from outcomes.workspace import Settings

    (tmp_path / "outcomes.toml").write_text("[facts]\n" + facts_toml, encoding="utf-8")
    return Settings.load(tmp_path)


def test_spark_settings_resolve_paths_and_take_environment_overrides(tmp_path, monkeypatch):
    s = _settings(tmp_path, 'engine = "spark"\nspark_parquet = "export"\nspark_master = "local[2]"\n')
    assert (s.engine, s.spark_master) == ("spark", "local[2]")
    assert s.spark_parquet == str((tmp_path / "export").resolve())  # relative to the workspace
    monkeypatch.setenv("OUTCOMES_SPARK_PARQUET", "s3a://bucket/facts")
    monkeypatch.setenv("OUTCOMES_SPARK_TABLES", "interactions=db.i, events=db.e")
    monkeypatch.setenv("OUTCOMES_SPARK_MASTER", "spark://head:7077")
    s = _settings(tmp_path, 'engine = "spark"\n[facts.spark_conf]\n"spark.executor.memory" = "8g"\n')
    assert s.spark_parquet == "s3a://bucket/facts"  # a URI is kept as written
    assert s.spark_tables == {"interactions": "db.i", "events": "db.e"}
    assert s.spark_master == "spark://head:7077"
    assert s.spark_conf == {"spark.executor.memory": "8g"}


def test_bad_engine_settings_name_the_file_the_field_and_the_fix(tmp_path, monkeypatch):
    from outcomes.workspace import Workspace, WorkspaceError

    with pytest.raises(WorkspaceError, match=r'outcomes.toml: facts.engine must be "duckdb" or "spark"'):
        _settings(tmp_path, 'engine = "postgres"\n')
    with pytest.raises(WorkspaceError, match=r"facts.spark_tables names bogus; the tables are interactions"):
        _settings(tmp_path, 'engine = "spark"\nspark_tables = { bogus = "db.x" }\n')
    _settings(tmp_path, 'engine = "spark"\n')
    with pytest.raises(
        WorkspaceError, match=r"set exactly one of facts.spark_parquet .* or facts.spark_tables"
    ):
        Workspace(tmp_path).facts()


def test_every_engine_setting_and_variable_is_documented():
    from outcomes.workspace import ENVIRONMENT

    doc = (Path(__file__).resolve().parents[1] / "docs" / "spark.md").read_text()
    for key, var in ENVIRONMENT.items():
        if key == "engine" or key.startswith("spark_"):
            assert f"`{key}`" in doc and f"`{var}`" in doc, key
    assert "`spark_conf`" in doc and "outcomes facts export" in doc
