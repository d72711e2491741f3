"""A small seeded generator of canonical rows with a known true effect, for the uplift tests.

Every customer of a group and month has one `cancel` contact in the group's queue, closed in that month:
- rated with probability 0.8, top-2-box (5) with probability `top2`, else 2;
- followed 2 days later by a second contact (intent `question`, unrated) with probability `repeat`;
- saved with probability `save`; an unsaved customer churns 5 days after the contact.
So the true values are: save_rate = save, churn_rate = 1 - save, csat_top2box = top2, and
fcr_rate = 1 / (1 + repeat) (the follow-up itself is never repeated). Customers are new in every month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,csat,provider,reopened,intent,agent_id"

CONTRACT = """
contract: pilot
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows:
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
  save:
    kind: save
    retained_for: 30d
pricing:
  base_fee: "1000.00"
  outcome_fees:
    - {outcome: resolution, unit: "1.00"}
"""


@dataclass(frozen=True)
class Rates:
    save: float
    top2: float
    repeat: float

    def truth(self, metric: str) -> float:
        return {
            "save_rate": self.save,
            "churn_rate": 1 - self.save,
            "csat_top2box": self.top2,
            "fcr_rate": 1 / (1 + self.repeat),
        }[metric]


def _ts(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(
    seed: int,
    rates: dict[tuple[str, str], Rates],
    *,
    customers: int = 300,
    prefix: str = "",
) -> tuple[list[str], list[str]]:
    """Rows (without header) for interactions and events. `rates`: (group, "YYYY-MM") -> Rates; the group is
    also the queue name (prefixed with `prefix`, as are ids, so several data sets can share one store)."""
    rng = np.random.default_rng(seed)
    contacts: list[str] = []
    events: list[str] = []
    for (group, month), r in sorted(rates.items()):
        start = datetime.strptime(month + "-01", "%Y-%m-%d")
        queue = f"{prefix}{group}"
        for i in range(customers):
            cust = f"{prefix}{group}-{month}-{i}"
            opened = start + timedelta(days=int(rng.integers(0, 20)), minutes=int(rng.integers(0, 600)))
            closed = opened + timedelta(minutes=30)
            rated = rng.random() < 0.8
            csat = ("5" if rng.random() < r.top2 else "2") if rated else ""
            agent = f"{prefix}agent-{group}-{i % 5}"
            contacts.append(
                f"{cust}-a,crm,{cust},chat,{queue},{_ts(opened)},{_ts(closed)},resolved,agent,{csat},p,false,cancel,{agent}"
            )
            if rng.random() < r.repeat:
                o2 = closed + timedelta(days=2)
                contacts.append(
                    f"{cust}-b,crm,{cust},chat,{queue},{_ts(o2)},{_ts(o2 + timedelta(minutes=10))},resolved,agent,,p,false,question,{agent}"
                )
            if rng.random() >= r.save:
                events.append(f"{cust},churned,{_ts(closed + timedelta(days=5))},,")
    return contacts, events


EVENT_CLOCK = "zz-clock,purchase,2027-03-01T00:00:00Z,1.00,"
