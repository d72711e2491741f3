"""Staffing over real calls: the Technion bank's January 1999 (../shared/data/technion_anonymous_bank).

The arrivals, handle times and present agents per interval that `outcomes staffing --from-facts` staffs are
counted again here with pandas over the raw file, independently of the connector and the facts store.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from outcomes.analysis.staffing import interval_demand, plan
from outcomes.connectors import ingest_mapped
from outcomes.contract import load_contract_text
from outcomes.facts import FactsStore
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.pricing.staffing import Target

BANK = Path(__file__).resolve().parents[2] / "shared" / "data" / "technion_anonymous_bank"
if not BANK.exists():  # a fresh clone sits beside shared/ too
    BANK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "technion_anonymous_bank"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not BANK.is_dir(), reason="shared data not available")]

CONTRACT = """
contract: technion-bank
version: 1
parties: {buyer: Anonymous Bank, provider: Bank call center}
currency: ILS
timezone: Asia/Jerusalem
term: {start: 1999-01-01, end: 1999-12-31}
period: month
system_of_record: technion-bank
workflows:
  all: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
pricing:
  outcome_fees:
    - {outcome: resolution, unit: "1.00"}
"""


def raw_january() -> pd.DataFrame:
    df = pd.read_csv(BANK / "january_1999.txt.gz", sep=r"\s+", dtype=str, engine="python")
    df = df[df["outcome"] != "PHANTOM"].copy()
    # the mapping quarantines what cannot be verified (docs/connectors.md "technion-bank"): served calls with no
    # service times, and customer ids written in scientific notation
    zero = ("0:00:00", "00:00:00")
    no_times = (df["outcome"] == "AGENT") & df["ser_start"].isin(zero) & df["ser_exit"].isin(zero)
    rounded = df["customer_id"].str.fullmatch(r"[0-9.]+[eE]\+[0-9]+", na=False)
    df = df[~(no_times | rounded)].copy()
    day = pd.to_datetime(df["date"], format="%y%m%d")
    df["opened"] = day + pd.to_timedelta(df["vru_entry"])
    served = day + pd.to_timedelta(df["ser_start"])
    served = served.where(served >= df["opened"], served + timedelta(days=1))  # service after midnight
    agent = df["outcome"] == "AGENT"
    # work starts at the service (else, for an agent named on an unserved call, at the call) and lasts ser_time
    df["work_start"] = served.where(agent, df["opened"])
    df["work_seconds"] = df["ser_time"].astype(float).where(agent, 0.0)
    df["handle"] = df["ser_time"].astype(float).where(agent)
    return df


def test_january_1999_intervals_match_the_raw_file(tmp_path):
    contract, issues = load_contract_text(textwrap.dedent(CONTRACT), "contract.yaml")
    assert contract is not None, issues
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with FactsStore(str(tmp_path / "facts.duckdb")) as store:
        ingest_mapped(store, "interactions", BANK / "january_1999.txt.gz", "technion-bank", now=now)
        window = Window.of(contract, Period.parse("1999-01"))
        intervals = interval_demand(store, contract, window, 30)
        planned = plan(intervals, Target(service_level=0.8, answer_within_seconds=20, shrinkage=0.3))

    raw = raw_january()
    local_start = datetime(1999, 1, 1)  # the grid starts at local midnight (Israel: UTC+2 all January)
    size = pd.Timedelta(minutes=30)
    n = 31 * 48
    assert len(intervals) == n
    slot = ((raw["opened"] - local_start) // size).astype(int)
    arrivals = slot.value_counts().reindex(range(n), fill_value=0)
    handle = raw.groupby(slot)["handle"].mean().reindex(range(n))
    present = [set() for _ in range(n)]
    worked = raw[raw["server"] != "NO_SERVER"]
    for who, begin, secs in zip(worked["server"], worked["work_start"], worked["work_seconds"], strict=True):
        end = begin + pd.Timedelta(seconds=secs)
        first, last = (begin - local_start) // size, (end - local_start) // size
        if secs > 0 and (end - local_start) % size == pd.Timedelta(0):
            last -= 1  # work ending on a boundary does not reach the next interval
        for i in range(max(first, 0), min(last, n - 1) + 1):
            present[i].add(who)

    assert [iv.arrivals for iv in intervals] == arrivals.tolist()
    # SOURCE.md: 31,599 calls less 240 phantoms; less the 42 + 24 quarantined by the mapping (counted above)
    assert sum(iv.arrivals for iv in intervals) == len(raw) == 31_599 - 240 - 66
    assert [iv.present for iv in intervals] == [len(p) for p in present]
    got = [iv.handle_seconds for iv in intervals]
    want = [None if pd.isna(h) else float(h) for h in handle]
    assert got == pytest.approx(want, nan_ok=True)
    # the busiest half hour of the month needs more agents than any quiet one
    busiest = max(planned, key=lambda p: p[0].arrivals)
    quiet = [p for p in planned if 0 < p[0].arrivals <= 5]
    assert busiest[1].agents > max(p[1].agents for p in quiet)
