"""Tests of the synthetic data generator (outcomes.synthetic.generate): reproducibility, schema, plausibility."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ruamel.yaml import YAML

from outcomes.synthetic.generate import EVENTS_SCHEMA, INTERACTIONS_SCHEMA, generate

N = 5_000
SEED = 11
NY = ZoneInfo("America/New_York")
START = datetime(2026, 9, 1, tzinfo=NY)
MONTHS_END = datetime(2026, 10, 1, tzinfo=NY)
END = datetime(2026, 10, 11, tzinfo=NY)  # 10-day tail after the last month


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    summary = generate(out, contacts=N, seed=SEED)
    return {
        "out": out,
        "summary": summary,
        "interactions": pq.read_table(out / "interactions.parquet"),
        "events": pq.read_table(out / "events.parquet"),
    }


@pytest.fixture(scope="module")
def df(run) -> pd.DataFrame:
    return run["interactions"].to_pandas()


@pytest.fixture(scope="module")
def crm(df) -> pd.DataFrame:
    return df[df["source"] == "buyer_crm"]


@pytest.fixture(scope="module")
def ev(run) -> pd.DataFrame:
    return run["events"].to_pandas()


@pytest.fixture(scope="module")
def contract(run) -> dict:
    return YAML(typ="safe").load((run["out"] / "contract.yaml").read_text())


# --- API and reproducibility ------------------------------------------------------------------------------
def test_summary(run):
    s = run["summary"]
    assert s["interactions"] == run["interactions"].num_rows
    assert s["events"] == run["events"].num_rows
    assert s["months"] == ["2026-09"]
    assert s["contract"] == str(run["out"] / "contract.yaml")
    assert s["system_of_record_rows"] + s["provider_export_rows"] == s["interactions"]
    assert sum(s["opened_by_month"].values()) == s["system_of_record_rows"]
    # `contacts` is the number of system-of-record contacts opened per month, give or take a few percent
    assert 0.9 * N <= s["opened_by_month"]["2026-09"] <= 1.1 * N
    # the tail runs at the month's daily rate: 10 days of a 30-day month
    assert 0.25 * N <= s["opened_by_month"]["tail"] <= 0.45 * N
    assert s["window"]["start"] == "2026-09-01T00:00:00-04:00"
    assert s["window"]["end"] == "2026-10-11T00:00:00-04:00"


def test_same_seed_gives_identical_files(run, tmp_path):
    generate(tmp_path, contacts=N, seed=SEED)
    assert pq.read_table(tmp_path / "interactions.parquet").equals(run["interactions"])
    assert pq.read_table(tmp_path / "events.parquet").equals(run["events"])
    assert (tmp_path / "contract.yaml").read_text() == (run["out"] / "contract.yaml").read_text()


def test_different_seed_gives_different_data(run, tmp_path):
    generate(tmp_path, contacts=N, seed=SEED + 1)
    assert not pq.read_table(tmp_path / "interactions.parquet").equals(run["interactions"])
    assert not pq.read_table(tmp_path / "events.parquet").equals(run["events"])


def test_progress_and_other_months(tmp_path):
    messages: list[str] = []
    s = generate(tmp_path, contacts=300, months=2, seed=1, start="2026-12", progress=messages.append)
    assert messages and any("events" in m for m in messages)
    assert s["months"] == ["2026-12", "2027-01"]
    t = pq.read_table(tmp_path / "interactions.parquet").to_pandas()
    assert t["opened_at"].min() >= datetime(2026, 12, 1, tzinfo=NY)
    assert t["opened_at"].max() < datetime(2027, 2, 11, tzinfo=NY)
    c = YAML(typ="safe").load((tmp_path / "contract.yaml").read_text())
    assert c["term"] == {"start": date(2026, 12, 1), "end": date(2028, 11, 30)}


# --- schema -------------------------------------------------------------------------------------------------
def test_schemas(run):
    assert run["interactions"].schema.equals(INTERACTIONS_SCHEMA)
    assert run["events"].schema.equals(EVENTS_SCHEMA)
    ts = pa.timestamp("us", tz="UTC")
    types = dict(zip(run["interactions"].schema.names, run["interactions"].schema.types, strict=True))
    assert types["opened_at"] == ts and types["closed_at"] == ts and types["first_response_at"] == ts
    assert types["csat"] == pa.int16() and types["nps"] == pa.int16() and types["ces"] == pa.int16()
    assert types["reopened"] == pa.bool_() and types["wait_seconds"] == pa.float64()
    assert types["interaction_id"] == pa.string() and types["customer_id"] == pa.string()
    assert run["events"].schema.field("amount").type == pa.decimal128(18, 2)
    assert run["events"].schema.field("monthly_revenue").type == pa.decimal128(18, 2)


def test_categories_all_present(df, ev):
    assert set(df["channel"]) == {"voice", "chat", "email", "messaging", "social", "bot"}
    assert set(df["status"]) == {"resolved", "open", "pending", "abandoned", "transferred"}
    assert set(df["handled_by"]) == {"bot", "agent"}
    assert set(df["source"]) == {"buyer_crm", "provider_export"}
    assert set(df["provider"]) == {"northwind", "other_bpo"}
    assert set(ev["event"]) == {"churned", "renewed", "saved", "purchase", "downgrade"}
    assert {"billing_question", "card_dispute", "cancel", "onboarding", "tech_issue"} <= set(df["intent"])
    assert {"disputes", "chargebacks", "onboarding", "kyc", "billing", "general", "other"} <= set(df["queue"])


def test_interaction_ids_unique(df, crm):
    assert df["interaction_id"].is_unique
    assert crm["interaction_id"].str.startswith("I").all()
    assert df.loc[df["source"] == "provider_export", "interaction_id"].str.startswith("NW").all()


# --- consistency --------------------------------------------------------------------------------------------
def test_timestamps_consistent(df):
    closed = df["closed_at"].notna()
    assert (df.loc[closed, "closed_at"] >= df.loc[closed, "opened_at"]).all()
    answered = df["first_response_at"].notna()
    assert (df.loc[answered, "first_response_at"] >= df.loc[answered, "opened_at"]).all()
    both = closed & answered
    assert (df.loc[both, "closed_at"] >= df.loc[both, "first_response_at"]).all()
    waited = (df.loc[answered, "first_response_at"] - df.loc[answered, "opened_at"]).dt.total_seconds()
    assert (waited == df.loc[answered, "wait_seconds"]).all()
    # open / pending contacts have no closed_at; every other status has one
    assert (df["status"].isin(["open", "pending"]) == ~closed).all()
    # nothing happens after the extract (the end of the tail), nothing before the first month
    assert df["opened_at"].min() >= START and df["opened_at"].max() < END
    assert df["closed_at"].max() < END and df["first_response_at"].max() < END
    assert (df["wait_seconds"].dropna() >= 0).all() and (df["handle_seconds"].dropna() >= 0).all()


def test_bots_and_abandoned_calls(df, crm):
    bot = df["channel"] == "bot"
    assert ((df["handled_by"] == "bot") == bot).all()
    assert df.loc[bot, "agent_id"].isna().all() and df.loc[bot, "first_response_at"].isna().all()
    bot_status = crm.loc[crm["channel"] == "bot", "status"].value_counts(normalize=True)
    assert bot_status["resolved"] > 0.7 and bot_status["abandoned"] > 0.03
    abandoned = df["status"] == "abandoned"
    assert df.loc[abandoned, "agent_id"].isna().all() and df.loc[abandoned, "first_response_at"].isna().all()
    vc = crm[crm["channel"].isin(["voice", "chat"])]
    assert 0.04 <= (vc["status"] == "abandoned").mean() <= 0.09
    assert (crm["status"] == "transferred").mean() > 0.02
    human = df[~bot & ~abandoned & (df["status"] != "open")]
    assert human["agent_id"].notna().all()


def test_rates_plausible(df, crm):
    n = len(crm)
    assert 0.003 <= crm["customer_id"].isna().mean() <= 0.02
    assert 0.035 <= (df["source"] == "provider_export").sum() / n <= 0.065
    assert 0.015 <= (crm["provider"] == "other_bpo").mean() <= 0.045
    assert 0.03 <= (crm["intent"] == "cancel").mean() <= 0.08
    agent_resolved = crm[(crm["status"] == "resolved") & (crm["handled_by"] == "agent")]
    assert 0.025 <= agent_resolved["reopened"].mean() <= 0.06
    handled = crm[crm["status"].isin(["resolved", "transferred"])]
    assert 0.20 <= handled["csat"].notna().mean() <= 0.30
    assert handled["nps"].notna().mean() < 0.15 and handled["ces"].notna().mean() < 0.15
    assert set(df["csat"].dropna().astype(int)) <= {1, 2, 3, 4, 5}
    assert set(df["nps"].dropna().astype(int)) <= set(range(11))
    assert set(df["ces"].dropna().astype(int)) <= set(range(1, 8))
    assert df.loc[df["handled_by"] == "bot", "csat"].notna().any()
    assert df.loc[df["status"].isin(["abandoned", "open", "pending"]), "csat"].isna().all()
    with_agent = crm[crm["agent_id"].notna()]
    assert 0.07 <= with_agent["qa_score"].notna().mean() <= 0.13
    assert df["qa_score"].dropna().between(0, 100).all()
    assert df.loc[df["agent_id"].isna(), "qa_score"].isna().all()


def test_provider_export_rows_copy_the_system_of_record(df, crm):
    dup = df[df["source"] == "provider_export"].copy()
    dup["interaction_id"] = "I0" + dup["interaction_id"].str.slice(2)  # same number, the buyer's prefix
    merged = dup.merge(crm, on="interaction_id", suffixes=("", "_sor"))
    assert len(merged) == len(dup)
    for col in INTERACTIONS_SCHEMA.names[2:]:  # everything but interaction_id and source
        pd.testing.assert_series_equal(merged[col], merged[col + "_sor"], check_names=False)
    assert (dup["provider"] == "northwind").all()


# --- repeats, splits, customers -----------------------------------------------------------------------------
def _by_customer(crm: pd.DataFrame) -> pd.DataFrame:
    known = crm[crm["customer_id"].notna()].sort_values(["customer_id", "opened_at", "interaction_id"])
    nxt = known.groupby("customer_id")
    return known.assign(
        next_opened=nxt["opened_at"].shift(-1),
        next_queue=nxt["queue"].shift(-1),
        next_status=nxt["status"].shift(-1),
        next_channel=nxt["channel"].shift(-1),
    )


def test_repeat_contacts(crm):
    k = _by_customer(crm)
    resolved = k[(k["status"] == "resolved") & k["closed_at"].notna()]
    within_7d = resolved["next_opened"] <= resolved["closed_at"] + timedelta(days=7)
    assert 0.08 <= within_7d.mean() <= 0.5
    # bot "containment" followed by a human contact within 72 hours
    bot = resolved[resolved["channel"] == "bot"]
    back = (bot["next_opened"] <= bot["closed_at"] + timedelta(hours=72)) & (bot["next_channel"] != "bot")
    assert back.sum() > 10
    # some repeats switch channel
    agent = resolved[(resolved["channel"] != "bot") & within_7d]
    assert (agent["next_channel"] != agent["channel"]).any()


def test_split_tickets(crm):
    k = _by_customer(crm)
    split = (
        (k["status"] == "resolved")
        & (k["next_status"] == "resolved")
        & (k["next_queue"] == k["queue"])
        & (k["next_opened"] - k["opened_at"] <= timedelta(minutes=15))
    )
    assert split.sum() >= 10


def test_customer_pool_is_skewed(crm):
    per_customer = crm["customer_id"].value_counts()
    assert per_customer.max() >= 8
    assert 0.15 <= (per_customer > 1).mean() <= 0.7


# --- events -------------------------------------------------------------------------------------------------
def test_events_consistent(ev):
    purchase = ev["event"] == "purchase"
    assert ev.loc[purchase, "amount"].notna().all() and ev.loc[~purchase, "amount"].isna().all()
    assert (ev.loc[purchase, "amount"].astype(float) > 0).all()
    assert ev["monthly_revenue"].notna().all() and (ev["monthly_revenue"].astype(float) > 0).all()
    assert ev["customer_id"].notna().all()
    assert ev["at"].is_monotonic_increasing
    assert ev["at"].max() < MONTHS_END + timedelta(days=100)
    assert ev["at"].max() > MONTHS_END + timedelta(days=90)  # the event clock covers the save windows


def test_every_customer_has_revenue_before_contacting(crm, ev):
    first = crm.groupby("customer_id")["opened_at"].min()
    known = ev[ev["monthly_revenue"].notna()].groupby("customer_id")["at"].min()
    joined = first.to_frame("first").join(known.rename("known"), how="left")
    assert joined["known"].notna().all()
    assert (joined["known"] < joined["first"]).all()


def test_cancellers_mostly_retained(crm, ev):
    cancel = crm[(crm["intent"] == "cancel") & crm["customer_id"].notna() & crm["closed_at"].notna()]
    first = cancel.groupby("customer_id")["closed_at"].min().rename("asked")
    churn = ev[ev["event"] == "churned"].set_index("customer_id")["at"].rename("churned")
    j = first.to_frame().join(churn, how="left")
    churned_90 = (j["churned"] > j["asked"]) & (j["churned"] <= j["asked"] + timedelta(days=90))
    assert len(j) > 50
    assert 0.05 <= churned_90.mean() <= 0.45
    assert ((ev["event"] == "churned").groupby(ev["customer_id"]).sum() <= 1).all()


# --- contract -----------------------------------------------------------------------------------------------
def test_contract_shape(contract):
    assert contract["contract"] == "demo-bank-northwind" and contract["version"] == 1
    assert contract["currency"] == "USD" and contract["timezone"] == "America/New_York"
    assert contract["term"] == {"start": date(2026, 9, 1), "end": date(2028, 8, 31)}
    assert contract["period"] == "month" and contract["system_of_record"] == "buyer_crm"
    assert contract["billable_providers"] == ["northwind"]
    for absent in ("service_levels", "automation", "effective_from"):
        assert absent not in contract
    assert "value_share" not in contract["pricing"]
    res = contract["outcomes"]["resolution"]
    assert res["repeat_contact"] == {"within": "7d", "same": ["customer", "workflow"], "channels": "any"}
    assert res["handled_by"] == ["agent"] and res["reopened"] == "exclude" and res["min_csat"] == 2
    assert contract["outcomes"]["containment"]["repeat_contact"]["within"] == "72h"
    assert contract["outcomes"]["save"] == {"kind": "save", "handled_by": ["agent"], "retained_for": "90d"}


def test_contract_validates_and_pays_each_contact_at_most_once(run):
    from outcomes.contract import load_contract

    loaded, issues = load_contract(run["out"] / "contract.yaml")
    assert loaded is not None and [i for i in issues if i.level == "error"] == []


def test_contract_money_and_glide_path(contract):
    pricing = contract["pricing"]
    money = [pricing["base_fee"], pricing["minimum"], pricing["maximum"]]
    for line in pricing["outcome_fees"]:
        money += [line["unit"]] if "unit" in line else [p["unit"] for p in line["prices"]]
    assert all(isinstance(m, str) and len(m.split(".")[-1]) == 2 for m in money)
    tiered = [line for line in pricing["outcome_fees"] if "tiers" in line]
    assert tiered and tiered[0]["tiers"] == "graduated" and tiered[0]["workflows"] == ["card_disputes"]
    assert {"resolution", "containment", "save"} == {line["outcome"] for line in pricing["outcome_fees"]}
    phases = contract["glide_path"]
    assert 2 <= len(phases) <= 3
    froms = [p["from"] for p in phases]
    assert froms == sorted(froms) and froms[0] == date(2026, 9, 1)
    assert any(date(2027, 3, 1) <= d <= date(2027, 9, 1) for d in froms[1:])
    assert all(isinstance(p["base_fee"], str) and isinstance(p["outcome_fees"], str) for p in phases)


def test_contract_workflows_cover_generated_queues(contract, df):
    workflows = contract["workflows"]
    defaults = [name for name, w in workflows.items() if w.get("default")]
    assert defaults == ["general"]
    listed = [q for w in workflows.values() for q in w.get("queues", [])]
    assert len(listed) == len(set(listed))  # queue lists do not overlap
    assert set(listed) <= set(df["queue"])  # every listed queue has traffic
    assert workflows["card_disputes"]["queues"] == ["disputes", "chargebacks"]
    assert workflows["onboarding"]["queues"] == ["onboarding", "kyc"]
    assert workflows["billing"]["queues"] == ["billing"]
    fee_workflows = {w for line in contract["pricing"]["outcome_fees"] for w in line.get("workflows", [])}
    assert fee_workflows == set(workflows)


# --- gaming (--gaming) ---------------------------------------------------------------------------------------
GAMING_DETECTORS = {
    "split_tickets", "premature_closure", "containment_abandonment", "survey_selection_bias",
    "reclassification", "unsupported_claims",
}  # fmt: skip


@pytest.fixture(scope="module")
def gaming(tmp_path_factory):
    out = tmp_path_factory.mktemp("gaming")
    summary = generate(out, contacts=N, seed=SEED, gaming=True, gaming_rate=0.05)
    return {
        "out": out,
        "summary": summary,
        "df": pq.read_table(out / "interactions.parquet").to_pandas(),
        "labels": pq.read_table(out / "gaming_labels.parquet").to_pandas(),
        "updates": pq.read_table(out / "interactions_updates.parquet").to_pandas(),
    }


def _labelled(gaming, detector: str) -> pd.DataFrame:
    lab = gaming["labels"]
    return gaming["df"].merge(lab[lab["detector"] == detector], on="interaction_id")


def test_gaming_writes_ground_truth_for_every_detector(gaming):
    lab, s = gaming["labels"], gaming["summary"]["gaming"]
    assert set(lab["detector"]) == GAMING_DETECTORS
    assert s["labels"] == lab["detector"].value_counts().sort_index().to_dict()
    assert s["rate"] == 0.05 and len(s["premature_agents"]) >= 1 and len(s["survey_agents"]) >= 1
    assert not set(s["premature_agents"]) & set(s["survey_agents"])
    assert not lab.duplicated(["detector", "interaction_id"]).any()
    # every labelled id is a written row; reclassified rows also appear in the updates file
    assert set(lab["interaction_id"]) <= set(gaming["df"]["interaction_id"])
    assert pq.read_table(gaming["out"] / "interactions.parquet").schema.equals(INTERACTIONS_SCHEMA)
    assert gaming["df"]["interaction_id"].is_unique


def test_gaming_agents_and_their_patterns(gaming):
    s = gaming["summary"]["gaming"]
    prem = _labelled(gaming, "premature_closure")
    assert set(prem["subject"]) == set(s["premature_agents"]) == set(prem["agent_id"])
    assert prem["reopened"].all() and (prem["status"] == "resolved").all()
    survey = _labelled(gaming, "survey_selection_bias")
    assert set(survey["subject"]) <= set(s["survey_agents"]) and survey["csat"].isna().all()
    # those agents' contacts with a bad outcome are (almost) never rated
    df = gaming["df"]
    steered = df[df["agent_id"].isin(s["survey_agents"]) & df["status"].isin(["transferred"])]
    others = df[~df["agent_id"].isin(s["survey_agents"]) & df["status"].isin(["transferred"])]
    assert steered["csat"].notna().mean() < 0.5 * others["csat"].notna().mean()


def test_gaming_splits_are_one_agent_one_customer(gaming):
    split = _labelled(gaming, "split_tickets").sort_values("opened_at")
    assert (split["status"] == "resolved").all() and (split["handled_by"] == "agent").all()
    groups = split.groupby(["customer_id", "agent_id", "intent"])
    assert (groups.size() >= 2).all()
    assert (split["subject"] == split["agent_id"]).all()
    def gap(g: pd.DataFrame) -> pd.Timedelta:
        return (g["opened_at"].iloc[1:].reset_index(drop=True) - g["closed_at"].iloc[:-1].reset_index(drop=True)).max()

    gaps = groups.apply(gap)
    assert (gaps <= pd.Timedelta(minutes=10)).all()


def test_gaming_containment_is_abandonment_with_a_quick_human_return(gaming):
    bots = _labelled(gaming, "containment_abandonment")
    assert (bots["channel"] == "bot").all() and (bots["status"] == "resolved").all()
    crm = gaming["df"][gaming["df"]["source"] == "buyer_crm"]
    human = crm[crm["channel"] != "bot"][["customer_id", "opened_at"]].rename(columns={"opened_at": "back"})
    j = bots.merge(human, on="customer_id")
    j = j[(j["back"] >= j["closed_at"]) & (j["back"] <= j["closed_at"] + timedelta(minutes=8))]
    assert set(j["interaction_id"]) == set(bots["interaction_id"])
    # the known rate: ~5% of bot sessions (20%+ of the abandoned ones are relabelled)
    n_bot = ((crm["channel"] == "bot") & crm["customer_id"].notna()).sum()
    assert 0.025 <= len(bots) / n_bot <= 0.08


def test_gaming_reclassification_updates_move_cheap_contacts_to_dear_queues(gaming):
    up, df = gaming["updates"], gaming["df"]
    lab = gaming["labels"]
    assert set(up["interaction_id"]) == set(lab.loc[lab["detector"] == "reclassification", "interaction_id"])
    assert set(up["queue"]) <= {"disputes", "onboarding"}
    before = df.set_index("interaction_id").loc[up["interaction_id"]]
    assert set(before["queue"]) <= {"billing", "tech_support", "general", "cards", "fraud", "other"}
    after = up.set_index("interaction_id")
    for col in INTERACTIONS_SCHEMA.names[1:]:
        if col != "queue":
            pd.testing.assert_series_equal(before[col], after[col], check_names=False)


def test_gaming_unsupported_claims_are_provider_copies_the_record_contradicts(gaming):
    claims = _labelled(gaming, "unsupported_claims")
    assert (claims["source"] == "provider_export").all() and (claims["status"] == "resolved").all()
    assert claims["closed_at"].notna().all()
    crm = gaming["df"][gaming["df"]["source"] == "buyer_crm"]
    record = claims.merge(crm, on=["customer_id", "channel", "opened_at"], suffixes=("", "_sor"))
    assert len(record) == len(claims) and set(record["status_sor"]) <= {"transferred", "pending"}


def test_clean_run_after_gaming_is_the_clean_output(run, gaming, tmp_path):
    generate(tmp_path, contacts=N, seed=SEED, gaming=True)
    assert (tmp_path / "gaming_labels.parquet").exists()
    generate(tmp_path, contacts=N, seed=SEED)
    assert not (tmp_path / "gaming_labels.parquet").exists()
    assert not (tmp_path / "interactions_updates.parquet").exists()
    assert pq.read_table(tmp_path / "interactions.parquet").equals(run["interactions"])
    assert not pq.read_table(gaming["out"] / "interactions.parquet").equals(run["interactions"])


@pytest.mark.parametrize("rate", [0.0, 0.6])
def test_gaming_rate_must_be_sensible(tmp_path, rate):
    with pytest.raises(ValueError, match="gaming rate"):
        generate(tmp_path, contacts=100, gaming=True, gaming_rate=rate)
