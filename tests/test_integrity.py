"""Integrity checks, detector by detector: a few lines of contract, a small table, then whether it fires, on
which contacts, with what severity and billing effect. Then the statistics, the prices, the command, and the
detectors against the generator's ground truth."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from outcomes.analysis.integrity import DETECTORS, Prices, Thresholds, collect
from outcomes.analysis.integrity.model import id_severity
from outcomes.analysis.integrity.stats import GroupTest, holm, standardised
from outcomes.contract.schema import Contract
from outcomes.period import Period

CONTRACT = """
contract: gaming
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
billable_providers: [p]
workflows:
  disputes: {queues: [disputes]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer, workflow], channels: any}
  containment:
    kind: containment
    repeat_contact: {within: 72h, same: [customer], channels: any}
pricing:
  outcome_fees:
    - {outcome: resolution, workflows: [disputes], unit: "8.00"}
    - {outcome: resolution, workflows: [general], unit: "4.00"}
    - {outcome: containment, unit: "1.00"}
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,agent_id,csat,provider,reopened,intent"
T0 = datetime(2026, 6, 1, 8, 0)


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(iid, cust, start, minutes=10, *, queue="general", status="resolved", handled="agent", agent="A1",
         csat="", reopened="false", channel="chat", source="crm", intent="x") -> str:  # fmt: skip
    closed = "" if status in ("open", "pending") else _ts(start + timedelta(minutes=minutes))
    return ",".join([iid, source, cust, channel, queue, _ts(start), closed, status, handled, agent, str(csat),
                     "p", reopened, intent])  # fmt: skip


def _run(s, detector: str, thresholds: Thresholds | None = None):
    report = collect(s.ws, "gaming", "2026-06", only=[detector], thresholds=thresholds)
    (run,) = report.runs
    return run


# --- split tickets ------------------------------------------------------------------------------------------
def test_split_tickets_fire_on_one_agent_one_customer_one_intent(scenario):
    s = scenario(CONTRACT)
    s.rows(
        "\n".join([
            # a: one problem, two tickets by the same agent; the second in another workflow: both counted
            _row("a1", "a", T0), _row("a2", "a", T0 + timedelta(minutes=15), queue="disputes"),
            # d: same split within one workflow: the contract already counts only the last one
            _row("d1", "d", T0), _row("d2", "d", T0 + timedelta(minutes=12)),
            # b: the customer wrote twice, two different agents (not the provider's doing)
            _row("b1", "b", T0), _row("b2", "b", T0 + timedelta(minutes=12), agent="A2"),
            # c: same agent, but two hours later; e: same agent, another intent
            _row("c1", "c", T0), _row("c2", "c", T0 + timedelta(hours=2)),
            _row("e1", "e", T0), _row("e2", "e", T0 + timedelta(minutes=12), intent="y"),
        ]),
        header=HEADER,
    )
    run = _run(s, "split_tickets")
    (f,) = run.findings
    assert sorted(f.interaction_ids) == ["a1", "a2", "d1", "d2"]
    assert f.details["groups"] == 2 and f.details["extra_counted"] == 1
    # a1 (general, 4.00) and a2 (disputes, 8.00) are both counted: one of them is billed too much
    assert f.billing_effect == Decimal("4.00")
    assert f.severity == "critical"  # billed, and 4 of 10 resolved contacts
    assert run.population == 10 and run.flagged == 4


def test_split_tickets_quiet_on_natural_repeats(scenario):
    s = scenario(CONTRACT)
    s.rows(
        "\n".join([
            _row("b1", "b", T0), _row("b2", "b", T0 + timedelta(minutes=12), agent="A2"),
            _row("c1", "c", T0), _row("c2", "c", T0 + timedelta(hours=2)),
            # the first ticket was not resolved: a transfer, not a split
            _row("t1", "t", T0, status="transferred"), _row("t2", "t", T0 + timedelta(minutes=12)),
        ]),
        header=HEADER,
    )
    run = _run(s, "split_tickets")
    assert run.findings == [] and run.flagged == 0


# --- premature closure ----------------------------------------------------------------------------------------
def _agents(bad_by_agent: dict[str, int], n: int = 40, repeat_in_other_workflow: int = 0) -> list[str]:
    """n resolved contacts per agent (one customer each); the first `bad` are reopened, except that the first
    `repeat_in_other_workflow` of A5's instead bring their customer back, abandoned, in another workflow."""
    rows = []
    for a, bad in bad_by_agent.items():
        for i in range(n):
            start = T0 + timedelta(hours=3 * i, minutes=int(a[1:]))
            cust = f"{a}-{i}"
            repeat = a == "A5" and i < repeat_in_other_workflow
            rows.append(_row(f"{a}-{i}", cust, start, agent=a, reopened="true" if i < bad and not repeat else "false"))
            if repeat:
                rows.append(_row(f"{a}-{i}-back", cust, start + timedelta(days=1), queue="disputes",
                                 status="abandoned", agent="", channel="voice"))  # fmt: skip
    return rows


def test_premature_closure_fires_on_the_agent_whose_closes_come_back(scenario):
    s = scenario(CONTRACT)
    s.rows("\n".join(_agents({"A1": 2, "A2": 3, "A3": 2, "A4": 3, "A5": 20}, repeat_in_other_workflow=10)),
           header=HEADER)  # fmt: skip
    run = _run(s, "premature_closure")
    assert run.population == 5 and run.flagged == 1
    (f,) = run.findings
    assert (f.subject, f.subject_kind) == ("A5", "agent")
    assert sorted(f.interaction_ids) == sorted(f"A5-{i}" for i in range(20))
    assert f.details["observed"] == 20 and f.details["expected"] < 4 and f.details["p_adjusted"] < 0.01
    # the 10 reopened ones are excluded by the contract; the 10 whose repeat came in another workflow are
    # counted (same: [customer, workflow]) at 4.00 each
    assert f.billing_effect == Decimal("40.00") and f.details["counted_by_contract"] == 10
    assert f.severity == "critical"


def test_premature_closure_quiet_when_rates_are_alike_or_samples_small(scenario):
    s = scenario(CONTRACT)
    rows = _agents({"A1": 3, "A2": 2, "A3": 4, "A4": 3, "A5": 5})
    rows += [_row(f"A9-{i}", f"A9-{i}", T0 + timedelta(hours=i), agent="A9", reopened="true") for i in range(10)]
    s.rows("\n".join(rows), header=HEADER)
    run = _run(s, "premature_closure")
    assert run.findings == []
    assert run.population == 5  # A9 (10 contacts, all reopened) is below the minimum sample and not tested


# --- containment that was abandonment -------------------------------------------------------------------------
def test_containment_abandonment_fires_when_the_customer_comes_back_to_a_human_at_once(scenario):
    s = scenario(CONTRACT)
    bot = {"handled": "bot", "agent": "", "channel": "bot", "minutes": 2}
    s.rows(
        "\n".join([
            _row("b1", "a", T0, **bot), _row("v1", "a", T0 + timedelta(minutes=6), channel="voice"),
            _row("b2", "b", T0, **bot), _row("b2x", "b", T0 + timedelta(minutes=5), **bot),  # back to the bot
            _row("b3", "c", T0, **bot), _row("v3", "c", T0 + timedelta(hours=2), channel="voice"),  # later
            _row("b4", "d", T0, **bot),
        ]),
        header=HEADER,
    )
    run = _run(s, "containment_abandonment")
    (f,) = run.findings
    assert f.interaction_ids == ["b1"] and f.details["returns"] == {"b1": "v1"}
    assert run.population == 5  # b1, b2, b2x, b3, b4
    # the contract's own 72h repeat check already keeps b1 off the invoice
    assert f.billing_effect == Decimal("0.00") and f.details["counted_by_contract"] == 0
    assert f.severity == "warning"  # unbilled, but 1 in 5 bot sessions


def test_containment_abandonment_quiet_without_quick_human_returns(scenario):
    s = scenario(CONTRACT)
    bot = {"handled": "bot", "agent": "", "channel": "bot", "minutes": 2}
    s.rows("\n".join([_row("b1", "a", T0, **bot), _row("v1", "a", T0 + timedelta(minutes=30), channel="voice")]),
           header=HEADER)  # fmt: skip
    assert _run(s, "containment_abandonment").findings == []


def _slow_returns(agent_returns: int, window: str = "1h") -> tuple[str, str]:
    """20 bot sessions in queue general, 10 of them followed by the customer on the phone 5 h later; 30 agent
    resolutions of the same queue, `agent_returns` of them followed by another contact 5 h later. The returns
    sit in another queue, so that the baseline of queue general is the 30 agent resolutions alone."""
    bot = {"handled": "bot", "agent": "", "channel": "bot", "minutes": 2}
    rows = []
    for i in range(20):
        start = T0 + timedelta(hours=30 * i)
        rows.append(_row(f"b{i:02}", f"cb{i}", start, **bot))
        if i < 10:
            rows.append(_row(f"v{i:02}", f"cb{i}", start + timedelta(hours=5), channel="voice", queue="callback"))
    for i in range(30):
        start = T0 + timedelta(hours=20 * i, minutes=30)
        rows.append(_row(f"a{i:02}", f"ca{i}", start))
        if i < agent_returns:
            rows.append(_row(f"r{i:02}", f"ca{i}", start + timedelta(hours=5), channel="voice", queue="callback"))
    return CONTRACT.replace("repeat_contact: {within: 72h, same: [customer], channels: any}",
                            f"repeat_contact: {{within: {window}, same: [customer], channels: any}}"), "\n".join(rows)  # fmt: skip


def test_slow_return_after_paid_bot_resolutions_is_flagged_with_its_billing_effect(scenario):
    contract, rows = _slow_returns(agent_returns=1)
    s = scenario(contract)
    s.rows(rows, header=HEADER)
    run = _run(s, "containment_abandonment")
    (f,) = run.findings
    assert f.details["pattern"] == "return_within_horizon"
    assert f.interaction_ids == [f"b{i:02}" for i in range(10)]
    # the contract's window is 1 h: the 5 h returns do not stop the fee; 10 x 1.00 paid that a human followed
    assert f.details["paid"] == f.interaction_ids and f.billing_effect == Decimal("10.00")
    assert f.severity == "critical" and "1 h" in f.message
    d = run.details
    assert d["horizon_seconds"] == 72 * 3600 and d["contract_window_seconds"] == 3600
    assert d["paid_followed_by_human"] == {"within_seconds": 259200, "count": 10, "amount": "10.00", "currency": "USD"}
    curve = {c["within"]: c for c in d["curve"]}
    assert list(curve) == ["10 min", "1 h", "24 h", "72 h"]
    # nobody is back within an hour; by 24 h half of the bot's customers are, one in 30 of the agents'
    assert (curve["1 h"]["bot_returned"], curve["24 h"]["bot_returned"]) == (0, 10)
    assert curve["72 h"]["bot_rate"] == 0.5 and curve["72 h"]["bot_sessions"] == 20
    assert (curve["72 h"]["agent_returned"], curve["72 h"]["agent_contacts"]) == (1, 30)
    assert d["test"]["significant"] is True and d["test"]["observed"] == 10
    assert run.flagged == 10


def test_slow_returns_at_the_agents_rate_stay_quiet(scenario):
    contract, rows = _slow_returns(agent_returns=15)  # agents' customers come back as often: nothing to see
    s = scenario(contract)
    s.rows(rows, header=HEADER)
    run = _run(s, "containment_abandonment")
    assert run.findings == [] and run.flagged == 0
    d = run.details
    point = next(c for c in d["curve"] if c["within"] == "72 h")
    assert point["bot_rate"] == point["agent_rate"] == 0.5
    assert d["test"]["significant"] is False
    # the billing effect is shown all the same: 10 paid bot resolutions a human contact followed within 72 h
    assert d["paid_followed_by_human"]["count"] == 10


def test_slow_returns_the_contract_already_catches_are_not_a_finding(scenario):
    contract, rows = _slow_returns(agent_returns=1, window="7d")  # its own window is longer than 72 h
    s = scenario(contract)
    s.rows(rows, header=HEADER)
    run = _run(s, "containment_abandonment")
    assert run.findings == []  # excess returns, but the contract's repeat check keeps every one off the invoice
    d = run.details
    assert d["horizon_seconds"] == 7 * 86400 and [c["within"] for c in d["curve"]][-1] == "7 d"
    assert d["test"]["significant"] is True and d["paid_followed_by_human"]["count"] == 0


def test_command_shows_the_return_curve(scenario):
    contract, rows = _slow_returns(agent_returns=1)
    s = scenario(contract)
    s.rows(rows, header=HEADER)
    args = ["integrity", "gaming", "--period", "2026-06", "--detector", "containment_abandonment", "-w", str(s.ws.root)]
    res = CliRunner().invoke(_cli(), [*args, "--json"])
    assert res.exit_code == 0, res.output
    (det,) = json.loads(res.stdout)["detectors"]
    assert [c["within"] for c in det["details"]["curve"]] == ["10 min", "1 h", "24 h", "72 h"]
    res = CliRunner().invoke(_cli(), args)
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "Return to a human" in text and "72 h" in text and "50.0%" in text
    assert "10 paid bot resolutions were followed by a human contact within 72 h: 10.00 USD" in text


# --- survey selection bias ------------------------------------------------------------------------------------
def _surveys(rated_negatives: dict[str, int], negatives: int = 25, positives: int = 15) -> list[str]:
    rows = []
    for a, rated in rated_negatives.items():
        for i in range(negatives + positives):
            neg = i < negatives
            csat = (2 if i < rated else "") if neg else (5 if i % 2 else "")
            rows.append(_row(f"{a}-{i}", f"{a}-{i}", T0 + timedelta(hours=3 * i, minutes=int(a[1:])), agent=a,
                             status="transferred" if neg else "resolved", csat=csat))  # fmt: skip
    return rows


def test_survey_selection_bias_fires_when_an_agent_rates_no_bad_outcome(scenario):
    s = scenario(CONTRACT)
    s.rows("\n".join(_surveys({"A1": 12, "A2": 13, "A3": 11, "A4": 12, "A5": 0})), header=HEADER)
    run = _run(s, "survey_selection_bias")
    (f,) = run.findings
    assert (f.subject, f.subject_kind) == ("A5", "agent") and f.severity == "critical"
    assert sorted(f.interaction_ids) == sorted(f"A5-{i}" for i in range(25))  # its unrated negative outcomes
    assert f.details["observed"] == 0 and f.details["expected"] > 10
    assert f.details["csat_top2box_flagged_agents"] == 1.0  # only good closes were rated
    assert f.billing_effect == Decimal("0.00")


def test_survey_selection_bias_quiet_on_ordinary_differences(scenario):
    s = scenario(CONTRACT)
    s.rows("\n".join(_surveys({"A1": 12, "A2": 13, "A3": 11, "A4": 12, "A5": 9})), header=HEADER)
    run = _run(s, "survey_selection_bias")
    assert run.findings == [] and run.population == 5


# --- reclassification ----------------------------------------------------------------------------------------
def test_reclassification_fires_on_moves_to_a_dearer_workflow(scenario):
    s = scenario(CONTRACT)
    s.rows("\n".join([_row("r1", "a", T0), _row("r2", "b", T0, queue="disputes"), _row("r3", "c", T0)]),
           header=HEADER)  # fmt: skip
    assert _run(s, "reclassification").findings == []  # one version each: nothing moved
    # a later batch corrects the facts: r1 moves up to disputes, r2 down to general, r3 unchanged
    s.rows("\n".join([_row("r1", "a", T0, queue="disputes"), _row("r2", "b", T0), _row("r3", "c", T0)]),
           header=HEADER)  # fmt: skip
    run = _run(s, "reclassification")
    (f,) = run.findings
    assert (f.subject, f.subject_kind, f.interaction_ids) == ("disputes", "workflow", ["r1"])
    assert f.billing_effect == Decimal("4.00")  # counted at 8.00 instead of 4.00
    assert f.details["moves_down_or_equal_price"] == 1 and f.details["from_workflows"] == {"general": 1}


# --- unsupported claims --------------------------------------------------------------------------------------
def test_unsupported_claims_fire_when_the_system_of_record_disagrees(scenario):
    s = scenario(CONTRACT)
    s.rows(
        "\n".join([
            _row("c1", "a", T0, status="transferred"), _row("v1", "a", T0, source="vendor"),  # matched by key
            _row("c2", "b", T0), _row("v2", "b", T0, source="vendor"),  # matched by customer+channel+opened_at
            _row("v3", "z", T0 + timedelta(hours=5), source="vendor"),  # no record at all
            _row("c4", "d", T0), _row("c4", "d", T0, source="vendor"),  # same id, resolved: supported
            _row("c5", "e", T0 + timedelta(hours=1), status="pending"),
            _row("c5", "e", T0 + timedelta(hours=1), source="vendor"),  # same id, pending in the record
        ]),
        header=HEADER,
    )
    run = _run(s, "unsupported_claims")
    (f,) = run.findings
    assert sorted(f.interaction_ids) == ["c5", "v1", "v3"]
    assert f.details["reasons"] == {"no_record": 1, "not_resolved": 2}
    assert f.details["system_of_record_ids"] == {"v1": ["c1"], "c5": ["c5"]}
    assert run.population == 5 and f.billing_effect == Decimal("12.00")  # 3 claims x 4.00 (general)


def test_unsupported_claims_quiet_when_the_feeds_agree(scenario):
    s = scenario(CONTRACT)
    s.rows("\n".join([_row("c1", "a", T0), _row("v1", "a", T0, source="vendor")]), header=HEADER)
    run = _run(s, "unsupported_claims")
    assert run.findings == [] and run.population == 1


# --- statistics and prices --------------------------------------------------------------------------------------
def test_holm_matches_statsmodels():
    ps = [0.001, 0.04, 0.03, 0.2, 0.0004]
    tests = [GroupTest(str(i), 10, 1, 1.0, 0.0, p) for i, p in enumerate(ps)]
    ours = [t.p_adjusted for t in holm(tests)]
    theirs = multipletests(ps, method="holm")[1]
    assert ours == pytest.approx(list(theirs))


def test_standardised_test_compares_within_queues():
    # A is in the queue where everybody has a high rate: not unusual there
    rows = [("A", "q_hi", 50, 25), ("B", "q_hi", 50, 24), ("C", "q_lo", 50, 3), ("D", "q_lo", 50, 2)]
    by = {t.subject: t for t in standardised(rows, "greater")}
    assert by["A"].expected == pytest.approx(50 * 24.5 / 51)
    assert by["A"].p > 0.3
    rows.append(("E", "q_lo", 50, 20))
    by = {t.subject: t for t in standardised(rows, "greater")}
    assert by["E"].p < 1e-6 and by["E"].ratio > 3


def test_tiered_prices_use_the_last_units_tier():
    c = Contract.model_validate(
        {
            "contract": "t", "version": 1, "parties": {"buyer": "b", "provider": "p"}, "currency": "USD",
            "timezone": "UTC", "term": {"start": "2026-01-01", "end": "2026-12-31"}, "period": "month",
            "system_of_record": "crm", "workflows": {"general": {"default": True}},
            "outcomes": {"resolution": {"kind": "resolution"}},
            "pricing": {"outcome_fees": [{"outcome": "resolution", "tiers": "graduated",
                                          "prices": [{"up_to": 2, "unit": "8.00"}, {"unit": "6.00"}]}]},
            "glide_path": [{"from": "2026-01-01", "base_fee": "1.00", "outcome_fees": "0.50"}],
        }
    )  # fmt: skip
    period = Period.parse("2026-06")
    assert Prices(c, period, {("resolution", "general"): 2}).unit("resolution", "general") == Decimal("4.00")
    assert Prices(c, period, {("resolution", "general"): 3}).unit("resolution", "general") == Decimal("3.00")
    assert Prices(c, period, {}).unit("resolution", "general") == Decimal("4.00")
    assert Prices(c, period, {}).unit("resolution", "other") is None
    # a contact counted by two outcomes is priced by the one that pays, whatever the order
    priced = Prices(c, period, {})
    for pairs in ([("resolution", "general"), ("save", "general")], [("save", "general"), ("resolution", "general")]):
        assert priced.paid(pairs) == ("resolution", "general")


def test_id_severity_rules():
    t = Thresholds()
    assert id_severity(2, 100, Decimal("4.00"), t) == "critical"  # billed, 2% of the population
    assert id_severity(1, 1_000, Decimal("4.00"), t) == "warning"  # billed, 0.1%
    assert id_severity(20, 1_000, Decimal("0"), t) == "warning"  # unbilled, 2%
    assert id_severity(1, 1_000, Decimal("0"), t) == "info"  # unbilled and rare
    assert id_severity(0, 0, Decimal("0"), t) == "info"


# --- the command ---------------------------------------------------------------------------------------------
def _cli():
    from outcomes.cli import app

    return app


def test_command_prints_json_findings(scenario):
    s = scenario(CONTRACT)
    s.rows("\n".join([_row("a1", "a", T0), _row("a2", "a", T0 + timedelta(minutes=15), queue="disputes")]),
           header=HEADER)  # fmt: skip
    res = CliRunner().invoke(_cli(), ["integrity", "gaming", "--period", "2026-06", "--json", "-w", str(s.ws.root)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [d["detector"] for d in doc["detectors"]] == list(DETECTORS)
    (f,) = doc["findings"]
    assert {k: f[k] for k in ("detector", "severity", "subject", "interaction_ids", "billing_effect")} == {
        "detector": "split_tickets", "severity": "critical", "subject": None,
        "interaction_ids": ["a1", "a2"], "billing_effect": "4.00",
    }  # fmt: skip
    assert doc["billing_effect"] == "4.00" and doc["currency"] == "USD"
    table = CliRunner().invoke(_cli(), ["integrity", "gaming", "--period", "2026-06", "-w", str(s.ws.root)])
    assert table.exit_code == 0 and "CRITICAL split_tickets" in table.stdout and "a1, a2" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-13"], "--period: period '2026-13' is not a month"),
        (["--period", "2027-02"], "outside the term of gaming"),
        (["--period", "2026-06", "--detector", "nope"], "unknown detector 'nope'"),
    ],
)
def test_command_names_bad_input(scenario, args, message):
    s = scenario(CONTRACT)
    res = CliRunner().invoke(_cli(), ["integrity", "gaming", *args, "-w", str(s.ws.root)])
    assert res.exit_code == 1 and message in res.stderr


# --- against the generator's ground truth ----------------------------------------------------------------------
GEN_N = 8_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from outcomes.contract import read_contract
    from outcomes.synthetic.generate import generate
    from outcomes.workspace import init_workspace

    root = tmp_path_factory.mktemp("integrity-gen")
    out = {}
    for name, gaming in (("clean", False), ("gaming", True)):
        data = root / name
        generate(data, contacts=GEN_N, seed=4, start="2026-06", gaming=gaming)
        ws = init_workspace(root / f"{name}-ws")
        ws.ledger().add_contract(read_contract(data / "contract.yaml"), (data / "contract.yaml").read_text(), "c")
        ws.facts().ingest("interactions", data / "interactions.parquet")
        if gaming:
            ws.facts().ingest("interactions", data / "interactions_updates.parquet")
        ws.facts().ingest("events", data / "events.parquet")
        out[name] = (collect(ws, "demo-bank-northwind", "2026-06"), ws, data)
    yield out
    for _, ws, _ in out.values():
        ws.close()


def test_generated_clean_data_fires_rarely(generated):
    report, _, _ = generated["clean"]
    for run in report.runs:
        assert run.population > 0, run.detector
        assert run.flagged <= 0.01 * run.population, (run.detector, run.flagged, run.population)


def test_generated_gaming_is_found(generated):
    report, ws, data = generated["gaming"]
    labels = pq.read_table(data / "gaming_labels.parquet").to_pylist()
    closed = dict(
        ws.facts().con.execute(
            "SELECT interaction_id, closed_at FROM interactions WHERE _until IS NULL AND closed_at >= "
            "TIMESTAMP '2026-06-01 04:00' AND closed_at < TIMESTAMP '2026-07-01 04:00'"
        ).fetchall()
    )
    for run in report.runs:
        truth = {x["interaction_id"] for x in labels if x["detector"] == run.detector and x["interaction_id"] in closed}
        found = {i for f in run.findings for i in f.interaction_ids}
        if run.detector in ("premature_closure", "survey_selection_bias"):
            truth = {x["subject"] for x in labels if x["detector"] == run.detector}
            found = {f.subject for f in run.findings}
        assert truth, run.detector
        hit = len(found & truth)
        assert hit >= 0.9 * len(truth) and hit >= 0.9 * len(found), (run.detector, len(found), len(truth), hit)


SAVE_CONTRACT = """
contract: gaming
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows:
  retention: {queues: [retention]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer, workflow], channels: any}
  save: {kind: save, handled_by: [agent], retained_for: 30d}
pricing:
  outcome_fees:
    - {outcome: resolution, workflows: [general], unit: "4.00"}
    - {outcome: save, workflows: [retention], unit: "15.00"}
"""


def test_a_contact_counted_twice_is_priced_by_the_outcome_that_pays(scenario):
    s = scenario(SAVE_CONTRACT)
    s.events("a,renewed,2026-01-01T00:00:00Z,,50.00\nzz,renewed,2026-09-01T00:00:00Z,,10.00")
    # one cancellation cut in two tickets: g1 is a resolution in general (4.00); r1 is a resolution in
    # retention (counted, no fee) and the customer's save (15.00): one of the two payments is too many
    s.rows("\n".join([_row("g1", "a", T0, intent="cancel"),
                      _row("r1", "a", T0 + timedelta(minutes=15), queue="retention", intent="cancel")]),
           header=HEADER)  # fmt: skip
    (f,) = _run(s, "split_tickets").findings
    assert sorted(f.interaction_ids) == ["g1", "r1"] and f.details["extra_counted"] == 1
    assert f.billing_effect == Decimal("4.00")
