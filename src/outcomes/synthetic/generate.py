"""Seeded, vectorised generator of synthetic customer-service data for an outcome-based contract.

`generate()` writes three files that fit together:

* ``interactions.parquet`` - contacts in the canonical columns of CONTRACT.md, from the system of record
  (``source = buyer_crm``) plus ~5% copies from the provider's own export (``source = provider_export``);
* ``events.parquet`` - CRM customer events (renewed, churned, saved, purchase, downgrade);
* ``contract.yaml`` - a contract (``demo-bank-northwind`` v1) written in the contract language to match.

Everything is drawn with numpy from one :class:`numpy.random.SeedSequence`, so the same arguments give the
same table contents. There is no per-row Python loop: contacts are generated in chunks of
whole local days (a few million rows each) and streamed to Parquet with a ``ParquetWriter``.

Time window (all local America/New_York calendar days, half-open):

* contacts are opened in ``[first day of start, last day of the last month + 1 + TAIL_DAYS days)``; the tail
  runs at the same daily rate so the repeat-contact windows of the last month are observed;
* the data are "extracted" at the end of that window: nothing is opened, answered or closed after it, so
  contacts still running then are ``open`` or ``pending`` with no ``closed_at``;
* events run from a year before the start to the end of the last month + ``EVENT_DAYS`` days (enough for a
  90-day save window of a contact closed in the tail).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["generate", "INTERACTIONS_SCHEMA", "EVENTS_SCHEMA"]

TIMEZONE = "America/New_York"
TAIL_DAYS = 10
EVENT_DAYS = 100
CHUNK_PRIMARIES = 2_000_000
MAX_GENERATIONS = 6
DAY = 86_400
HOUR = 3_600
NULL = -1  # sentinel for null integers (timestamps are positive epoch seconds)

# Expected buyer_crm rows per primary contact (follow-ups: repeats, callbacks, transfers, splits).
# Used only to size the primaries so that a month holds about `contacts` system-of-record contacts.
FOLLOWUP_FACTOR = 1.205

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)

INTERACTIONS_SCHEMA = pa.schema(
    [
        ("interaction_id", pa.string()),
        ("source", pa.string()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
        ("queue", pa.string()),
        ("opened_at", TS),
        ("first_response_at", TS),
        ("closed_at", TS),
        ("status", pa.string()),
        ("handled_by", pa.string()),
        ("agent_id", pa.string()),
        ("provider", pa.string()),
        ("reopened", pa.bool_()),
        ("wait_seconds", pa.float64()),
        ("handle_seconds", pa.float64()),
        ("csat", pa.int16()),
        ("nps", pa.int16()),
        ("ces", pa.int16()),
        ("qa_score", pa.float64()),
        ("intent", pa.string()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("event", pa.string()),
        ("at", TS),
        ("amount", MONEY),
        ("monthly_revenue", MONEY),
    ]
)


def _dictionary_schema(schema: pa.Schema, columns: dict[str, pa.DataType]) -> pa.Schema:
    fields = [pa.field(f.name, pa.dictionary(columns[f.name], pa.string())) if f.name in columns else f
              for f in schema]  # fmt: skip
    return pa.schema(fields)


# as written: category columns are Arrow dictionaries (fast to build and to write); the Arrow schema is not
# stored in the files, so readers see the Parquet types, i.e. exactly INTERACTIONS_SCHEMA / EVENTS_SCHEMA
_CATEGORY_COLUMNS = ("source", "channel", "queue", "status", "handled_by", "provider", "intent")
_INTERACTIONS_WRITE = _dictionary_schema(
    INTERACTIONS_SCHEMA, {c: pa.int8() for c in _CATEGORY_COLUMNS} | {"agent_id": pa.int32()}
)
_EVENTS_WRITE = _dictionary_schema(EVENTS_SCHEMA, {"event": pa.int8()})
_STATS = [
    f.name
    for f in (*INTERACTIONS_SCHEMA, *EVENTS_SCHEMA)
    if f.name not in (*_CATEGORY_COLUMNS, "agent_id", "event")
]
_PARQUET = {  # statistics on the dictionary columns cost more than they are worth (except `source`)
    "compression": "snappy",
    "use_dictionary": [*_CATEGORY_COLUMNS, "agent_id", "event"],
    "write_statistics": [*_STATS, "source"],
}

# --- categories -------------------------------------------------------------------------------------------
SOURCES = ("buyer_crm", "provider_export")
CHANNELS = ("voice", "chat", "email", "messaging", "social", "bot")
VOICE, CHAT, EMAIL, MESSAGING, SOCIAL, BOT = range(6)
STATUSES = ("resolved", "open", "pending", "abandoned", "transferred")
RESOLVED, OPEN, PENDING, ABANDONED, TRANSFERRED = range(5)
HANDLERS = ("bot", "agent")
PROVIDERS = ("northwind", "other_bpo")
EVENTS = ("churned", "renewed", "saved", "purchase", "downgrade")
CHURNED, RENEWED, SAVED, PURCHASE, DOWNGRADE = range(5)

QUEUES = (
    "billing", "disputes", "chargebacks", "onboarding", "kyc", "retention",
    "tech_support", "general", "cards", "fraud", "other",
)  # fmt: skip
WORKFLOWS = {  # as written to contract.yaml; everything else falls to `general` (default)
    "card_disputes": ("disputes", "chargebacks"),
    "onboarding": ("onboarding", "kyc"),
    "billing": ("billing",),
    "retention": ("retention",),
}
TRANSFER_QUEUES = np.array(
    [
        QUEUES.index(q)
        for q in ("general", "billing", "disputes", "tech_support", "retention", "fraud", "kyc")
    ],
    np.int8,
)
# intent: (share of first contacts, bot affinity, queue routing)
INTENT_TABLE = {
    "billing_question": (0.17, 1.0, {"billing": 1.0}),
    "payment_failed": (0.06, 0.8, {"billing": 1.0}),
    "card_dispute": (0.09, 0.3, {"disputes": 0.7, "chargebacks": 0.3}),
    "onboarding": (0.07, 0.8, {"onboarding": 0.65, "kyc": 0.35}),
    "cancel": (0.05, 0.4, {"retention": 0.8, "general": 0.2}),
    "tech_issue": (0.10, 1.0, {"tech_support": 1.0}),
    "account_access": (0.09, 1.3, {"general": 1.0}),
    "balance_inquiry": (0.10, 2.2, {"general": 1.0}),
    "address_change": (0.05, 1.8, {"general": 1.0}),
    "card_replacement": (0.06, 1.5, {"cards": 1.0}),
    "fraud_report": (0.03, 0.2, {"fraud": 1.0}),
    "other": (0.08, 0.7, {"other": 0.6, "general": 0.4}),
}
INTENTS = tuple(INTENT_TABLE)
CANCEL = INTENTS.index("cancel")

# --- rates and distributions (index by channel) -----------------------------------------------------------
CHANNEL_WEIGHTS = np.array([0.33, 0.22, 0.12, 0.08, 0.02, 0.23])
AGENT_CHANNEL_WEIGHTS = np.array([0.50, 0.35, 0.05, 0.10, 0.0, 0.0])  # a human after a bot
WAIT_MEDIAN = np.array([45.0, 30.0, 3 * HOUR, 480.0, 2_700.0, 0.0])
WAIT_SIGMA = np.array([0.9, 0.8, 1.0, 1.0, 1.0, 0.0])
HANDLE_MEDIAN = np.array([360.0, 540.0, 240.0, 420.0, 300.0, 120.0])
HANDLE_SIGMA = np.array([0.6, 0.6, 0.7, 0.7, 0.6, 0.6])
ABANDON_P = np.array([0.07, 0.055, 0.0, 0.03, 0.0, 0.10])  # bot: the customer walks away
ABANDON_WAIT = np.array([80.0, 60.0, 0.0, 600.0, 0.0, 0.0])
TRANSFER_P = np.array([0.05, 0.04, 0.02, 0.03, 0.02, 0.12])  # bot: hand-off to an agent
BACKLOG_P = np.array([0.0, 0.001, 0.006, 0.004, 0.004, 0.0])  # old tickets still open / pending
SPLIT_P = np.array([0.0, 0.015, 0.04, 0.02, 0.01, 0.0])  # second ticket for the same request
REOPEN_P = 0.045
OTHER_BPO_P = 0.04  # of human-channel contacts (~3% of all rows)
DUPLICATE_P = 0.05  # of northwind system-of-record rows, copied into provider_export
UNIDENTIFIED_P = 0.01
SURVEY_P = (0.20, 0.27)  # csat response rate (bot, agent) among resolved / transferred contacts
NPS_P, CES_P, QA_P = 0.08, 0.06, 0.10
HOUR_WEIGHTS = np.array(
    [
        0.3,
        0.2,
        0.15,
        0.15,
        0.2,
        0.4,
        0.8,
        1.5,
        3.0,
        4.5,
        5.0,
        5.0,
        4.6,
        4.7,
        4.8,
        4.6,
        4.2,
        3.6,
        3.0,
        2.5,
        2.0,
        1.6,
        1.1,
        0.6,
    ]
)
WEEKDAY_WEIGHTS = np.array([1.10, 1.05, 1.0, 1.0, 0.95, 0.60, 0.50])  # Monday first
CSAT_GOOD = np.array([0.04, 0.04, 0.10, 0.30, 0.52])
CSAT_BAD = np.array([0.20, 0.15, 0.20, 0.25, 0.20])
NPS_GOOD = np.array([0.02, 0.01, 0.02, 0.02, 0.03, 0.06, 0.06, 0.12, 0.18, 0.20, 0.28])
NPS_BAD = np.array([0.10, 0.06, 0.08, 0.08, 0.08, 0.12, 0.10, 0.12, 0.10, 0.08, 0.08])
CES_GOOD = np.array([0.03, 0.04, 0.07, 0.12, 0.20, 0.27, 0.27])
CES_BAD = np.array([0.12, 0.12, 0.16, 0.18, 0.18, 0.14, 0.10])

# follow-up kinds (each contact has at most one)
NONE, SPLIT, REPEAT, CALLBACK, TRANSFER, HANDOFF = range(6)


GRID = 1 << 14  # resolution of the inverse-CDF lookup tables (probabilities are quantised to 1/16384)


def _table(*rows) -> np.ndarray:
    """Inverse-CDF lookup table, one row per distribution: table[row, u] is the category of the quantile u."""
    grid = (np.arange(GRID) + 0.5) / GRID
    out = []
    for weights in rows:
        w = np.asarray(weights, float)
        out.append(np.searchsorted(np.cumsum(w / w.sum()), grid, side="right"))
    return np.minimum(np.stack(out), [[len(r) - 1] for r in rows]).astype(np.int8)


def _intent_tables():
    share = [v[0] for v in INTENT_TABLE.values()]
    channel_rows, queue_rows = [], []
    for _, affinity, routing in INTENT_TABLE.values():
        bot = CHANNEL_WEIGHTS[BOT] * affinity
        bot = bot / (bot + 1 - CHANNEL_WEIGHTS[BOT])
        human = CHANNEL_WEIGHTS.copy()
        human[BOT] = 0
        channel_rows.append(np.append((human / human.sum() * (1 - bot))[:BOT], bot))
        queue_rows.append([routing.get(q, 0.0) for q in QUEUES])
    return _table(share), _table(*channel_rows), _table(*queue_rows)


INTENT_LOOKUP, CHANNEL_BY_INTENT, QUEUE_BY_INTENT = _intent_tables()
HOUR_TABLE = _table(HOUR_WEIGHTS)
CSAT_TABLE = _table(CSAT_GOOD, CSAT_BAD)
NPS_TABLE = _table(NPS_GOOD, NPS_BAD)
CES_TABLE = _table(CES_GOOD, CES_BAD)
AGENT_CHANNEL_TABLE = _table(AGENT_CHANNEL_WEIGHTS)
CHANNEL_TABLE = _table(CHANNEL_WEIGHTS)


def _choice(rng: np.random.Generator, table: np.ndarray, n: int) -> np.ndarray:
    """n draws from the single distribution of `table`."""
    return table[0][rng.integers(0, GRID, n, dtype=np.int32)]


def _choice_by(rng: np.random.Generator, table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One draw per element, from the distribution (row of `table`) that `row` selects."""
    u = rng.integers(0, GRID, len(row), dtype=np.int32)
    return table.ravel()[row.astype(np.intp) * GRID + u]


# --- window and pools -------------------------------------------------------------------------------------
@dataclass
class _Window:
    months: list[str]
    start: datetime  # local midnight of the first month
    months_end: datetime  # local midnight after the last month
    month_ends: np.ndarray  # epoch seconds of the local midnight ending each month
    end: datetime  # end of the tail: the extract time
    events_end: datetime
    midnights: np.ndarray  # epoch seconds of each local day's midnight, one per day of [start, end)
    day_len: np.ndarray  # seconds in each local day (82,800 / 86,400 / 90,000 around daylight-saving changes)
    day_month: np.ndarray  # month index of each day; len(months) for tail days
    weekday: np.ndarray

    @property
    def t_end(self) -> int:
        return int(self.end.timestamp())


def _month(start: str) -> date:
    try:
        return datetime.strptime(start, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"start must be a month as YYYY-MM, got {start!r}") from None


def _window(start: str, months: int) -> _Window:
    tz = ZoneInfo(TIMEZONE)
    first = _month(start)
    labels, bounds = [], [first]
    for _ in range(months):
        labels.append(f"{bounds[-1].year:04d}-{bounds[-1].month:02d}")
        y, m = bounds[-1].year + bounds[-1].month // 12, bounds[-1].month % 12 + 1
        bounds.append(date(y, m, 1))
    last = bounds[-1] + timedelta(days=TAIL_DAYS)
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    edges = [*days, last]
    midnights = np.array([datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() for d in edges], np.int64)
    day_month = (
        np.searchsorted(
            np.array([b.toordinal() for b in bounds]), np.array([d.toordinal() for d in days]), side="right"
        )
        - 1
    )
    local = lambda d: datetime(d.year, d.month, d.day, tzinfo=tz)  # noqa: E731
    return _Window(
        months=labels, start=local(first), months_end=local(bounds[-1]), end=local(last),
        month_ends=np.array([local(b).timestamp() for b in bounds[1:]], np.int64),
        events_end=local(bounds[-1] + timedelta(days=EVENT_DAYS)), midnights=midnights[:-1],
        day_len=np.diff(midnights),
        day_month=day_month.astype(np.int64), weekday=np.array([d.weekday() for d in days]),
    )  # fmt: skip


@dataclass
class _Pool:
    customers: int
    heavy: int
    frequent: int
    agents_nw: int
    agents_ob: int


def _pool(contacts: int) -> _Pool:
    k = max(200, 2 * contacts)
    agents = int(np.clip(contacts // 1_000, 10, 5_000))
    return _Pool(
        customers=k,
        heavy=max(2, k // 500),
        frequent=max(10, k // 20),
        agents_nw=agents,
        agents_ob=max(3, agents // 20),
    )


def _customers(rng: np.random.Generator, n: int, pool: _Pool) -> np.ndarray:
    """Skewed customer draw: 3% of contacts from 0.2% of customers, 15% from the next 5%, rest uniform."""
    u = rng.random(n)
    heavy, frequent = u < 0.03, (u >= 0.03) & (u < 0.18)
    size = np.where(heavy, pool.heavy, np.where(frequent, pool.frequent, pool.customers))
    cust = np.where(frequent, pool.heavy, 0) + (rng.random(n) * size).astype(np.int64)
    cust[rng.random(n) < UNIDENTIFIED_P] = NULL
    return cust


def _customer_codes(cust: np.ndarray) -> np.ndarray:
    """Customer index -> a scrambled 10-digit number (multiplication mod the prime 2^31 - 1 is injective)."""
    return (np.maximum(cust, 0) * 48_271) % 2_147_483_647


# --- contacts ---------------------------------------------------------------------------------------------
Rows = dict[str, np.ndarray]


def _take(rows: Rows, idx) -> Rows:
    return {k: v[idx] for k, v in rows.items()}


def _concat(parts: list[Rows]) -> Rows:
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _primaries(
    rng: np.random.Generator, win: _Window, day_idx: np.ndarray, counts: np.ndarray, pool: _Pool
) -> Rows:
    n = int(counts.sum())
    day = np.repeat(day_idx, counts)
    hour = _choice(rng, HOUR_TABLE, n).astype(np.int64)
    # local clock time, squeezed / stretched on the days daylight saving starts / ends
    opened = win.midnights[day] + (hour * HOUR + rng.integers(0, HOUR, n)) * win.day_len[day] // DAY
    intent = _choice(rng, INTENT_LOOKUP, n)
    return {
        "cust": _customers(rng, n, pool),
        "opened": opened,
        "intent": intent,
        "channel": _choice_by(rng, CHANNEL_BY_INTENT, intent),
        "queue": _choice_by(rng, QUEUE_BY_INTENT, intent),
        "force": np.zeros(n, bool),
    }


def _outcomes(rng: np.random.Generator, r: Rows, win: _Window, pool: _Pool) -> Rows:
    """Status, handler, provider, agent, timings, reopen flag for base rows (in place, returned)."""
    n = len(r["opened"])
    ch = r["channel"]
    bot = ch == BOT
    u = rng.random(n)
    p_ab = ABANDON_P[ch]
    p_tr = p_ab + TRANSFER_P[ch]
    p_bl = p_tr + BACKLOG_P[ch]
    status = np.full(n, RESOLVED, np.int8)
    status[u < p_bl] = np.where(rng.random(int((u < p_bl).sum())) < 0.4, OPEN, PENDING)
    status[u < p_tr] = TRANSFERRED
    status[u < p_ab] = ABANDONED
    status[r["force"]] = RESOLVED
    abandoned = status == ABANDONED

    z = rng.standard_normal((3, n))
    wait = np.where(
        abandoned, ABANDON_WAIT[ch] * np.exp(0.8 * z[0]), WAIT_MEDIAN[ch] * np.exp(WAIT_SIGMA[ch] * z[0])
    )
    wait = np.rint(wait).astype(np.int64)
    handle = np.maximum(np.rint(HANDLE_MEDIAN[ch] * np.exp(HANDLE_SIGMA[ch] * z[1])), 5).astype(np.int64)
    handle = np.where(abandoned, np.where(bot, handle // 3 + 5, 0), handle)
    reopened = (status == RESOLVED) & ~bot & ~r["force"] & (rng.random(n) < REOPEN_P)
    reopen_extra = np.where(reopened, np.rint(1.5 * DAY * np.exp(0.8 * z[2])), 0).astype(np.int64)

    opened = r["opened"]
    first = opened + wait
    closed = opened + np.where(bot, handle, wait + handle) + reopen_extra
    # the extract is taken at win.end: whatever runs past it is still open / pending
    t_end = win.t_end
    done = (status == RESOLVED) | (status == TRANSFERRED) | (status == ABANDONED)
    late = done & (closed >= t_end)
    answered_in_time = ~bot & ~abandoned & (first < t_end)
    status[late] = np.where(answered_in_time[late], PENDING, OPEN)
    status[(status == PENDING) & (first >= t_end)] = OPEN
    responded = ~bot & ((status == RESOLVED) | (status == TRANSFERRED) | (status == PENDING))
    closed_ok = (status == RESOLVED) | (status == TRANSFERRED) | (status == ABANDONED)
    never_answered = status == OPEN

    provider = (~bot & (rng.random(n) < OTHER_BPO_P)).astype(np.int8)
    agent = np.where(
        provider == 1, pool.agents_nw + rng.integers(0, pool.agents_ob, n), rng.integers(0, pool.agents_nw, n)
    )
    r.update(
        status=status,
        handled=(~bot).astype(np.int8),
        provider=provider,
        agent=np.where(responded, agent, NULL).astype(np.int32),
        wait=np.where(never_answered, np.nan, wait.astype(np.float64)),
        handle=np.where(never_answered, np.nan, handle.astype(np.float64)),
        first=np.where(responded, first, NULL),
        closed=np.where(closed_ok, closed, NULL),
        reopened=reopened,
        spawn=np.zeros(n, np.int8),
    )
    return r


def _followups(rng: np.random.Generator, r: Rows, win: _Window) -> Rows:
    """Decide which contacts lead to another contact (sets r['spawn']) and return the new base rows."""
    n = len(r["opened"])
    st, ch = r["status"], r["channel"]
    bot = ch == BOT
    resolved = st == RESOLVED
    p_split = np.where(resolved & ~bot & ~r["reopened"] & (r["cust"] >= 0), SPLIT_P[ch], 0.0)
    p_human = 0.07 + 0.10 * r["reopened"] + 0.05 * (r["intent"] == CANCEL)
    p_unsolved = np.where((st == OPEN) | (st == PENDING), 0.03, 0.0)
    p_repeat = np.where(resolved, np.where(bot, 0.14, p_human), p_unsolved)
    u = rng.random(n)
    kind = np.zeros(n, np.int8)
    kind[(u >= p_split) & (u < p_split + p_repeat)] = REPEAT
    kind[u < p_split] = SPLIT
    kind[(st == ABANDONED) & (u < np.where(bot, 0.35, 0.5))] = CALLBACK
    kind[st == TRANSFERRED] = np.where(bot[st == TRANSFERRED], HANDOFF, TRANSFER)
    r["spawn"] = kind

    idx = np.flatnonzero(kind)
    k = kind[idx]
    m = len(idx)
    p_bot = bot[idx]
    p_ch, p_intent, p_queue = ch[idx], r["intent"][idx], r["queue"][idx]
    p_opened, p_closed = r["opened"][idx], r["closed"][idx]
    anchor = np.where(p_closed >= 0, p_closed, p_opened)
    z, u1, u2 = rng.standard_normal(m), rng.random(m), rng.random(m)

    delay = np.select(
        [k == SPLIT, (k == REPEAT) & p_bot, k == REPEAT, k == CALLBACK, k == TRANSFER],
        [1 + 900 * u1**2,
         np.clip(3 * HOUR * np.exp(1.2 * z), 300, 14 * DAY),
         np.clip(20 * HOUR * np.exp(1.3 * z), 600, 21 * DAY),
         np.clip(900 * np.exp(1.2 * z), 30, 3 * DAY),
         5 + 85 * u1],
        2 + 28 * u1,  # hand-off from the bot to an agent
    )  # fmt: skip
    opened = np.where(k == SPLIT, p_opened, anchor) + np.rint(delay).astype(np.int64)

    other_channel = _choice(rng, CHANNEL_TABLE, m)
    human_channel = _choice(rng, AGENT_CHANNEL_TABLE, m)
    channel = np.select(
        [(k == SPLIT) | (k == TRANSFER),
         k == HANDOFF,
         (k == CALLBACK) & p_bot,
         k == CALLBACK,
         (k == REPEAT) & p_bot,
         ],
        [p_ch,
         np.where(u2 < 0.8, CHAT, MESSAGING),
         np.where(u2 < 0.6, VOICE, CHAT),
         np.where(u2 < 0.7, p_ch, VOICE),
         np.where(u2 < 0.15, BOT, human_channel),
         ],
        np.where(u2 < 0.6, p_ch, other_channel),  # repeat after a human contact
    ).astype(np.int8)  # fmt: skip

    new_intent = (k == REPEAT) & (rng.random(m) < 0.2)
    intent = np.where(new_intent, _choice(rng, INTENT_LOOKUP, m), p_intent).astype(np.int8)
    routed = _choice_by(rng, QUEUE_BY_INTENT, intent)
    ti = rng.integers(0, len(TRANSFER_QUEUES), m)
    target = TRANSFER_QUEUES[ti]
    target = np.where(target == p_queue, TRANSFER_QUEUES[(ti + 1) % len(TRANSFER_QUEUES)], target)
    queue = np.select([k == TRANSFER, new_intent], [target, routed], p_queue).astype(np.int8)

    kids = {
        "cust": r["cust"][idx],
        "opened": opened,
        "intent": intent,
        "channel": channel,
        "queue": queue,
        "force": k == SPLIT,
    }
    return _take(kids, opened < win.t_end)


def _surveys(rng: np.random.Generator, r: Rows) -> None:
    n = len(r["opened"])
    st, bot = r["status"], r["channel"] == BOT
    handled = (st == RESOLVED) | (st == TRANSFERRED)
    bad = r["reopened"] | (r["spawn"] == REPEAT) | (r["spawn"] == CALLBACK) | (st == TRANSFERRED)
    bad = bad.astype(np.int64)
    answered = handled & (rng.random(n) < np.where(bot, SURVEY_P[0], SURVEY_P[1]))
    r["csat"] = np.where(answered, _choice_by(rng, CSAT_TABLE, bad) + 1, NULL).astype(np.int16)
    nps, ces = _choice_by(rng, NPS_TABLE, bad), _choice_by(rng, CES_TABLE, bad) + 1
    r["nps"] = np.where(handled & (rng.random(n) < NPS_P), nps, NULL).astype(np.int16)
    r["ces"] = np.where(handled & (rng.random(n) < CES_P), ces, NULL).astype(np.int16)
    qa = np.round(np.clip(rng.normal(84.0, 9.0, n) - 10.0 * bad, 0, 100), 1)
    r["qa"] = np.where((r["agent"] >= 0) & (rng.random(n) < QA_P), qa, np.nan)


def _contacts(
    rng: np.random.Generator, win: _Window, day_idx: np.ndarray, counts: np.ndarray, pool: _Pool
) -> Rows:
    """System-of-record contacts first opened on the given days, with all their follow-ups, by opened_at."""
    current = _outcomes(rng, _primaries(rng, win, day_idx, counts, pool), win, pool)
    parts = [current]
    for _ in range(MAX_GENERATIONS):
        kids = _followups(rng, current, win)
        if len(kids["opened"]) == 0:
            break
        current = _outcomes(rng, kids, win, pool)
        parts.append(current)
    rows = _concat(parts)
    _surveys(rng, rows)
    order = np.argsort(rows["opened"], kind="stable")
    return _take(rows, order)


# --- gaming (--gaming): each pattern of docs/integrity.md injected at a known rate, with ground truth --------
GAMING_RATE = 0.02  # default share of each pattern's eligible contacts (and of agents, for agent patterns)
PREMATURE_P = 0.35  # a premature-closing agent's resolved contacts that come back reopened
SUPPRESS_P = 0.9  # a survey-steering agent's surveys withheld after a bad outcome
SPLIT_EXTRA_P = 0.3  # split problems cut into three tickets rather than two
CHEAP_QUEUES = np.array([QUEUES.index(q) for q in ("billing", "tech_support", "general", "cards", "fraud",
                                                   "other")], np.int8)  # fmt: skip
DEAR_QUEUES = np.array([QUEUES.index("disputes"), QUEUES.index("onboarding")], np.int8)
GAMING_LABELS_FILE = "gaming_labels.parquet"
UPDATES_FILE = "interactions_updates.parquet"
GAMING_LABELS = pa.schema([("detector", pa.string()), ("interaction_id", pa.string()), ("subject", pa.string())])


@dataclass
class _Gaming:
    """The gaming run's state: its own random stream (the clean draws are untouched), the agents that game
    the group patterns, and what was injected so far."""

    rng: np.random.Generator
    rate: float
    premature_agents: np.ndarray
    survey_agents: np.ndarray
    labels: list[pa.Table] = field(default_factory=list)  # ground truth, one table per chunk
    updates: list[pa.Table] = field(default_factory=list)  # reclassified rows, for a later ingest

    @classmethod
    def start(cls, seed: int, rate: float, pool: _Pool) -> _Gaming:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1_000,)))
        k = max(1, int(round(rate * pool.agents_nw)))
        chosen = rng.choice(pool.agents_nw, min(2 * k, pool.agents_nw), replace=False)
        return cls(rng, rate, np.sort(chosen[:k]), np.sort(chosen[k:]))


def _new_rows(base: Rows, src: np.ndarray, **values) -> Rows:
    """Rows copied from base[src], with the given columns replaced."""
    out = _take(base, src)
    out.update(values)
    return out


def _inject(gm: _Gaming, r: Rows, dup: np.ndarray, win: _Window, pool: _Pool):
    """Inject every gaming pattern into one chunk's system-of-record rows (in place for edits; extra rows are
    appended). Returns (rows, provider-copy positions, provider-copy rows, labels, (update rows, their
    positions)); labels are (detector, positions, subjects, id prefix: I for the buyer's row, NW for the
    provider's copy)."""
    g, rate, t_end = gm.rng, gm.rate, win.t_end
    n = len(r["opened"])
    st, ch = r["status"], r["channel"]
    bot = ch == BOT
    nw = r["provider"] == 0
    agent_resolved = nw & ~bot & (st == RESOLVED) & (r["agent"] >= 0)
    labels: list[tuple[str, np.ndarray, np.ndarray, str]] = []
    used = np.zeros(n, bool)

    def agent_names(pos):
        return np.array([f"NW{a:06d}" for a in r["agent"][pos]], object)

    def none(pos):
        return np.full(len(pos), None, object)

    # premature closure: a few agents close too early, and many of their resolved contacts come back reopened
    prem = agent_resolved & np.isin(r["agent"], gm.premature_agents) & ~r["reopened"]
    prem &= g.random(n) < PREMATURE_P
    r["reopened"] = r["reopened"] | prem
    used |= prem
    pos = np.flatnonzero(prem)
    labels.append(("premature_closure", pos, agent_names(pos), "I"))

    # survey selection bias: a few agents' customers are surveyed only after good closes
    # ("bad": reopened, transferred, or the customer came back within 7 days - as far as this chunk shows)
    steer = nw & ~bot & ((st == RESOLVED) | (st == TRANSFERRED)) & np.isin(r["agent"], gm.survey_agents)
    order = np.lexsort((r["opened"], r["cust"]))
    nxt = np.full(n, np.iinfo(np.int64).max)
    same = r["cust"][order][1:] == r["cust"][order][:-1]
    nxt[order[:-1]] = np.where(same, r["opened"][order][1:], nxt[order[:-1]])
    came_back = (r["cust"] >= 0) & (r["closed"] >= 0) & (nxt <= r["closed"] + 7 * DAY)
    bad = r["reopened"] | (r["spawn"] == REPEAT) | (st == TRANSFERRED) | came_back
    withheld = steer & bad & (r["csat"] >= 0) & (g.random(n) < SUPPRESS_P)
    r["csat"] = np.where(withheld, NULL, r["csat"]).astype(np.int16)
    used |= withheld
    pos = np.flatnonzero(withheld)
    labels.append(("survey_selection_bias", pos, agent_names(pos), "I"))

    # reclassification: resolved contacts of cheap workflows moved, in a later batch, to a dearer queue
    recl = agent_resolved & ~used & np.isin(r["queue"], CHEAP_QUEUES) & (g.random(n) < rate)
    used |= recl
    pos = np.flatnonzero(recl)
    target = DEAR_QUEUES[g.integers(0, len(DEAR_QUEUES), len(pos))]
    updates = _new_rows(r, pos, queue=target)
    wf = np.array(["card_disputes" if q == QUEUES.index("disputes") else "onboarding" for q in target], object)
    labels.append(("reclassification", pos, wf, "I"))
    update_pos = pos

    # unsupported claims: the provider's copy says resolved where the buyer's record says transferred/pending
    claim = nw & ~bot & ((st == TRANSFERRED) | (st == PENDING)) & (r["first"] >= 0) & ~used
    claim &= g.random(n) < rate
    used |= claim
    claim_pos = np.flatnonzero(claim)
    labels.append(("unsupported_claims", claim_pos, none(claim_pos), "NW"))

    # split tickets: one problem cut into two or three tickets, each closed resolved by the same agent
    split = agent_resolved & ~used & ~r["reopened"] & (r["cust"] >= 0) & (g.random(n) < rate)
    used |= split
    parents = np.flatnonzero(split)
    k = len(parents)
    third = g.random(k) < SPLIT_EXTRA_P
    last_closed = r["closed"][parents].copy()
    alive = np.ones(k, bool)
    extra: list[Rows] = []
    m = n
    split_pos, split_subj, with_child = [], [], alive
    for step in range(2):
        if step == 1:
            alive = alive & third
        opened = last_closed + g.integers(30, 600, k)
        handle = np.maximum(np.rint(HANDLE_MEDIAN[ch[parents]] * 0.5 * np.exp(0.6 * g.standard_normal(k))),
                            30).astype(np.int64)  # fmt: skip
        closed = opened + handle
        queue = np.where(g.random(k) < 0.5, r["queue"][parents], g.integers(0, len(QUEUES), k)).astype(np.int8)
        alive = alive & (closed < t_end)
        sel = np.flatnonzero(alive)
        j = len(sel)
        extra.append(_new_rows(
            r, parents[sel], opened=opened[sel], first=opened[sel], closed=closed[sel], queue=queue[sel],
            wait=np.zeros(j), handle=handle[sel].astype(np.float64), reopened=np.zeros(j, bool),
            csat=np.full(j, NULL, np.int16), nps=np.full(j, NULL, np.int16), ces=np.full(j, NULL, np.int16),
            qa=np.full(j, np.nan), spawn=np.zeros(j, np.int8), force=np.ones(j, bool),
            status=np.full(j, RESOLVED, np.int8),
        ))  # fmt: skip
        split_pos.append(m + np.arange(j))
        split_subj.append(agent_names(parents[sel]))
        m += j
        last_closed = np.where(alive, closed, last_closed)
        if step == 0:
            with_child = alive.copy()
    kept = parents[with_child]
    pos = np.concatenate([kept, *split_pos])
    labels.append(("split_tickets", pos, np.concatenate([agent_names(kept), *split_subj]), "I"))

    # containment that was abandonment: abandoned bot sessions recorded as resolved; the customer came back to
    # a human on another channel a few minutes later
    ab = nw & bot & (st == ABANDONED) & (r["cust"] >= 0) & (r["closed"] >= 0) & (r["closed"] < t_end - HOUR)
    flip = ab & (g.random(n) < min(1.0, rate / ABANDON_P[BOT]))
    pos = np.flatnonzero(flip)
    k = len(pos)
    channel = np.where(g.random(k) < 0.6, VOICE, CHAT).astype(np.int8)
    opened = r["closed"][pos] + g.integers(30, 480, k)
    wait = np.rint(WAIT_MEDIAN[channel] * np.exp(WAIT_SIGMA[channel] * g.standard_normal(k))).astype(np.int64)
    handle = np.maximum(np.rint(HANDLE_MEDIAN[channel] * np.exp(0.6 * g.standard_normal(k))), 5).astype(np.int64)
    extra.append(_new_rows(
        r, pos, channel=channel, opened=opened, first=opened + wait, closed=opened + wait + handle,
        wait=wait.astype(np.float64), handle=handle.astype(np.float64), handled=np.ones(k, np.int8),
        agent=g.integers(0, pool.agents_nw, k).astype(np.int32), status=np.full(k, RESOLVED, np.int8),
        reopened=np.zeros(k, bool), csat=np.full(k, NULL, np.int16), nps=np.full(k, NULL, np.int16),
        ces=np.full(k, NULL, np.int16), qa=np.full(k, np.nan), spawn=np.zeros(k, np.int8), force=np.ones(k, bool),
    ))  # fmt: skip
    st[pos] = RESOLVED
    labels.append(("containment_abandonment", pos, none(pos), "I"))

    # the provider's copies, after every edit of the buyer's record, then the unsupported claims on top
    copies_at = np.union1d(dup, claim_pos)
    copies = _take(r, copies_at)
    edit = np.isin(copies_at, claim_pos)
    fallback = np.minimum(copies["first"] + np.nan_to_num(copies["handle"]).astype(np.int64), t_end - 1)
    copies["closed"] = np.where(edit & (copies["closed"] < 0), fallback, copies["closed"])
    copies["status"] = np.where(edit, RESOLVED, copies["status"]).astype(np.int8)

    r = _concat([r, *extra])
    return r, copies_at, copies, labels, (updates, update_pos)


def _labels_table(labels, ids: np.ndarray) -> pa.Table:
    parts = []
    for detector, pos, subjects, prefix in labels:
        parts.append(pa.table({
            "detector": pa.array([detector] * len(pos), pa.string()),
            "interaction_id": _fixed_strings(prefix, ids[pos], 12 - len(prefix)),
            "subject": pa.array(list(subjects), pa.string()),
        }, schema=GAMING_LABELS))  # fmt: skip
    return pa.concat_tables(parts)


def _write_gaming(gm: _Gaming, out_dir: Path) -> dict:
    labels = pa.concat_tables(gm.labels)
    pq.write_table(labels, out_dir / GAMING_LABELS_FILE)
    updates = pa.concat_tables([u.cast(_INTERACTIONS_WRITE) for u in gm.updates])
    pq.write_table(updates, out_dir / UPDATES_FILE, store_schema=False)
    by = labels.group_by("detector").aggregate([("interaction_id", "count")]).to_pylist()
    return {
        "rate": gm.rate,
        "labels_path": str(out_dir / GAMING_LABELS_FILE),
        "updates_path": str(out_dir / UPDATES_FILE),
        "labels": {r["detector"]: r["interaction_id_count"] for r in sorted(by, key=lambda r: r["detector"])},
        "premature_agents": [f"NW{a:06d}" for a in gm.premature_agents],
        "survey_agents": [f"NW{a:06d}" for a in gm.survey_agents],
    }


# --- arrow ------------------------------------------------------------------------------------------------
def _bitmap(valid: np.ndarray | None):
    if valid is None or valid.all():
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), int((~valid).sum())


_WORDS = np.array([int.from_bytes(f"{i:04d}".encode(), "little") for i in range(10_000)], np.uint32)


def _fixed_strings(prefix: str, nums: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """prefix + zero-padded number, built straight into an Arrow string buffer, one 4-byte word at a time.
    len(prefix) + width must be a multiple of 4 and the prefix at most 3 characters."""
    n, p = len(nums), len(prefix)
    w = p + width
    assert w % 4 == 0 and 0 < p < 4, (prefix, width)
    k = 4 - p  # digits in the first word, after the prefix
    first = np.array(
        [int.from_bytes(f"{prefix}{i:0{k}d}".encode(), "little") for i in range(10**k)], np.uint32
    )
    words = np.empty((n, w // 4), np.uint32)
    x = np.maximum(nums, 0).astype(np.int64)
    for j in range(w // 4 - 1, 0, -1):
        x, d = np.divmod(x, 10_000)
        words[:, j] = _WORDS[d]
    words[:, 0] = first[x % 10**k]
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    validity, nulls = _bitmap(valid)
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(words)], null_count=nulls
    )


def _categorical(names, codes: np.ndarray) -> pa.Array:
    """Dictionary-encoded strings: written as Parquet dictionary pages, read back as plain `string`."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(list(names), pa.string()))


def _timestamps(secs: np.ndarray) -> pa.Array:
    valid = secs >= 0
    return pa.array(secs * 1_000_000, type=TS, mask=None if valid.all() else ~valid)


def _nullable(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values, mask=None if valid.all() else ~valid)


def _money(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    cents = np.where(valid, cents, 0) if valid is not None else cents.astype(np.int64)
    raw = np.empty((len(cents), 2), np.int64)  # little-endian 128-bit integers, value in cents
    raw[:, 0] = cents
    raw[:, 1] = cents >> 63
    validity, nulls = _bitmap(valid)
    return pa.Array.from_buffers(MONEY, len(cents), [validity, pa.py_buffer(raw)], null_count=nulls)


def _interactions_table(r: Rows, ids: np.ndarray, prefix: str, source: int, agent_names: pa.Array,
                        ) -> pa.Table:  # fmt: skip
    n = len(ids)
    cust = r["cust"]
    agent = r["agent"]
    cols = [
        _fixed_strings(prefix, ids, 12 - len(prefix)),
        _categorical(SOURCES, np.full(n, source)),
        _fixed_strings("C", _customer_codes(cust), 11, cust >= 0),
        _categorical(CHANNELS, r["channel"]),
        _categorical(QUEUES, r["queue"]),
        _timestamps(r["opened"]),
        _timestamps(r["first"]),
        _timestamps(r["closed"]),
        _categorical(STATUSES, r["status"]),
        _categorical(HANDLERS, r["handled"]),
        pa.DictionaryArray.from_arrays(pa.array(agent, mask=agent < 0), agent_names),
        _categorical(PROVIDERS, r["provider"]),
        pa.array(r["reopened"]),
        _nullable(r["wait"], ~np.isnan(r["wait"])),
        _nullable(r["handle"], ~np.isnan(r["handle"])),
        _nullable(r["csat"], r["csat"] >= 0),
        _nullable(r["nps"], r["nps"] >= 0),
        _nullable(r["ces"], r["ces"] >= 0),
        _nullable(r["qa"], ~np.isnan(r["qa"])),
        _categorical(INTENTS, r["intent"]),
    ]
    return pa.Table.from_arrays(cols, schema=_INTERACTIONS_WRITE)


# --- events -----------------------------------------------------------------------------------------------
def _first_per_customer(cust: np.ndarray, at: np.ndarray, *extra: np.ndarray):
    order = np.lexsort((at, cust))
    cust, at = cust[order], at[order]
    _, first = np.unique(cust, return_index=True)
    return (cust[first], at[first], *(e[order][first] for e in extra))


def _events(
    rng: np.random.Generator,
    win: _Window,
    months: int,
    contacted: np.ndarray,
    cancel_cust: np.ndarray,
    cancel_at: np.ndarray,
    buy_cust: np.ndarray,
    buy_at: np.ndarray,
) -> Rows:
    start, horizon = int(win.start.timestamp()), int(win.events_end.timestamp())
    span = horizon - start
    ids = np.flatnonzero(contacted)  # customers who contacted (sorted pool indices)
    m = len(ids)
    # monthly revenue in cents: median $40, log-normal
    rev = np.clip(np.rint(4_000 * np.exp(0.8 * rng.standard_normal(m))), 500, 500_000).astype(np.int64)

    index = np.full(len(contacted), -1, np.int64)
    index[ids] = np.arange(m)

    def pos(c):
        return index[c]

    lottery = rng.random(m)  # one draw per customer for the base rates below (disjoint slices of [0, 1))
    drawn = 0.0

    def random_customers(rate):
        nonlocal drawn
        lo, drawn = drawn, min(drawn + rate, 1.0)
        return ids[(lottery >= lo) & (lottery < drawn)]

    def random_times(k):
        return start + rng.integers(0, span, k)

    # churn: ~22% of customers who asked to cancel, mostly within 90 days (some just after); a base rate
    c_cust, c_first = _first_per_customer(cancel_cust, cancel_at)
    churners = rng.random(len(c_cust)) < 0.22
    churn_delay = (HOUR + 100 * DAY * rng.random(len(c_cust)) ** 1.5).astype(np.int64)
    base_churn = random_customers(0.004 * months)
    ch_cust, ch_at = _first_per_customer(
        np.concatenate([c_cust[churners], base_churn]),
        np.concatenate([(c_first + churn_delay)[churners], random_times(len(base_churn))]),
    )
    churn_at = np.full(m, np.iinfo(np.int64).max)
    churn_at[pos(ch_cust)] = ch_at

    # downgrades: 15% of retained cancellers within 30 days of the contact; a base rate
    kept = ~churners & (rng.random(len(c_cust)) < 0.15)
    base_down = random_customers(0.005 * months)
    dn_cust, dn_at = _first_per_customer(
        np.concatenate([c_cust[kept], base_down]),
        np.concatenate([c_first[kept] + rng.integers(HOUR, 30 * DAY, int(kept.sum())),
                        random_times(len(base_down))]))  # fmt: skip
    down_at = np.full(m, np.iinfo(np.int64).max)
    down_at[pos(dn_cust)] = dn_at
    down_rev = np.rint(rev * rng.uniform(0.4, 0.8, m)).astype(np.int64)

    # renewals: one in the year before the window for every customer who contacts - drawn already in time
    # order (uniform order statistics from cumulated exponential gaps) for customers in random order - and
    # ~5% of customers a month during the window
    gaps = rng.standard_exponential(m + 1)
    pre_at = start - 365 * DAY + (np.cumsum(gaps)[:-1] * (364 * DAY / gaps.sum())).astype(np.int64)
    pre_pos = rng.permutation(m)
    rn_cust = random_customers(min(0.05 * (months + EVENT_DAYS / 30), 1.0))
    # saves recorded by the CRM on 45% of cancel contacts; purchases after contacts and at random
    sv = rng.random(len(cancel_cust)) < 0.45
    base_buy = random_customers(0.03 * months)

    # everything below happens at or after the start, i.e. after every pre-window renewal
    cust = np.concatenate([ch_cust, dn_cust, rn_cust, cancel_cust[sv], buy_cust, base_buy])
    at = np.concatenate([ch_at, dn_at, random_times(len(rn_cust)),
                         cancel_at[sv] + rng.integers(60, 1_800, int(sv.sum())), buy_at,
                         random_times(len(base_buy))])  # fmt: skip
    sizes = [len(ch_cust), len(dn_cust), len(rn_cust), int(sv.sum()), len(buy_cust), len(base_buy)]
    kinds = np.array([CHURNED, DOWNGRADE, RENEWED, SAVED, PURCHASE, PURCHASE], np.int8)
    event = np.repeat(kinds, sizes)
    p = pos(cust)
    keep = (at < horizon) & ((event == CHURNED) | (at < churn_at[p]))
    order = np.flatnonzero(keep)[np.argsort(at[keep], kind="stable")]
    cust, at, event, p = cust[order], at[order], event[order], p[order]
    revenue = np.where(at >= down_at[p], down_rev[p], rev[p])
    purchase = event == PURCHASE
    amount = np.zeros(len(at), np.int64)
    spend = np.rint(8_000 * np.exp(rng.standard_normal(int(purchase.sum()))))  # cents, median $80
    amount[purchase] = np.clip(spend, 100, 5_000_000)
    return {
        "cust": np.concatenate([ids[pre_pos], cust]),
        "at": np.concatenate([pre_at, at]),
        "event": np.concatenate([np.full(m, RENEWED, np.int8), event]),
        "revenue": np.concatenate([rev[pre_pos], revenue]),
        "amount": np.concatenate([np.zeros(m, np.int64), amount]),
    }


def _events_table(e: Rows) -> pa.Table:
    purchase = e["event"] == PURCHASE
    return pa.Table.from_arrays(
        [_fixed_strings("C", _customer_codes(e["cust"]), 11), _categorical(EVENTS, e["event"]),
         _timestamps(e["at"]), _money(e["amount"], purchase), _money(e["revenue"])],
        schema=_EVENTS_WRITE,
    )  # fmt: skip


# --- contract ---------------------------------------------------------------------------------------------
def _add_months(d: date, k: int) -> date:
    y, m = divmod(d.month - 1 + k, 12)
    return date(d.year + y, m + 1, 1)


def contract_text(start: str) -> str:
    """The contract (YAML text) that matches the generated data, with its term starting at `start`."""
    first = _month(start)
    end = _add_months(first, 24) - timedelta(days=1)
    workflows = "\n".join(f"  {name + ':':14} {{queues: [{', '.join(q)}]}}" for name, q in WORKFLOWS.items())
    return f"""\
contract: demo-bank-northwind
version: 1
parties: {{buyer: Demo Bank, provider: Northwind CX}}
currency: USD
timezone: {TIMEZONE}
term: {{start: {first.isoformat()}, end: {end.isoformat()}}}
period: month
system_of_record: buyer_crm

billable_providers: [northwind]

workflows:
{workflows}
  {"general:":14} {{default: true}}

outcomes:
  resolution:
    kind: resolution
    handled_by: [agent]
    repeat_contact: {{within: 7d, same: [customer, workflow], channels: any}}
    reopened: exclude
    min_csat: 2
  containment:
    kind: containment
    repeat_contact: {{within: 72h, same: [customer], channels: any}}
  save:
    kind: save                  # paid in the retention workflow only: a contact earns at most one fee
    handled_by: [agent]
    retained_for: 90d

pricing:
  base_fee: "30000.00"
  outcome_fees:
    - outcome: resolution
      workflows: [card_disputes]
      tiers: graduated
      prices: [{{up_to: 4000, unit: "8.00"}}, {{unit: "6.00"}}]
    - outcome: resolution
      workflows: [onboarding]
      unit: "6.00"
    - outcome: resolution
      workflows: [billing, general]
      unit: "4.00"
    - outcome: containment
      unit: "0.90"
    - outcome: save
      workflows: [retention]
      unit: "15.00"
  minimum: "40000.00"
  maximum: "600000.00"

glide_path:
  - {{from: {first.isoformat()}, base_fee: "1.00", outcome_fees: "0.60"}}
  - {{from: {_add_months(first, 6).isoformat()}, base_fee: "0.75", outcome_fees: "0.80"}}
  - {{from: {_add_months(first, 12).isoformat()}, base_fee: "0.50", outcome_fees: "1.00"}}

audit: {{buyer_may_rerun: true, evidence_retention: 24 months}}
"""


# --- driver -----------------------------------------------------------------------------------------------
class _Background:
    """One job at a time on a worker thread (Parquet encoding releases the GIL), so the caller can prepare the
    next job meanwhile. Jobs run in submission order; an error surfaces at the next submit / wait / exit."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._job = None

    def submit(self, fn, *args) -> None:
        self.wait()
        self._job = self._pool.submit(fn, *args)

    def wait(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.result()

    def __enter__(self) -> _Background:
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True)


def _day_counts(rng: np.random.Generator, win: _Window, contacts: int) -> np.ndarray:
    """First contacts per local day: `contacts / FOLLOWUP_FACTOR` a month, weekday-weighted; tail at the rate
    of the last month."""
    n_month = int(round(contacts / FOLLOWUP_FACTOR))
    w = WEEKDAY_WEIGHTS[win.weekday]
    counts = np.zeros(len(w), np.int64)
    tail = len(win.months)
    for mi in range(tail):
        sel = win.day_month == mi
        counts[sel] = rng.multinomial(n_month, w[sel] / w[sel].sum())
    sel, last = win.day_month == tail, win.day_month == tail - 1
    n_tail = int(round(n_month * w[sel].sum() / w[last].sum()))
    counts[sel] = rng.multinomial(n_tail, w[sel] / w[sel].sum())
    return counts


def _chunks(counts: np.ndarray) -> list[np.ndarray]:
    out, cur, total = [], [], 0
    for d, c in enumerate(counts.tolist()):
        if cur and total + c > CHUNK_PRIMARIES:
            out.append(np.array(cur))
            cur, total = [], 0
        cur.append(d)
        total += c
    if cur:
        out.append(np.array(cur))
    return out


def generate(
    out_dir: Path,
    contacts: int = 100_000,
    months: int = 1,
    seed: int = 0,
    start: str = "2026-09",
    progress: Callable[[str], None] | None = None,
    gaming: bool = False,
    gaming_rate: float = GAMING_RATE,
) -> dict:
    """Writes out_dir/interactions.parquet, out_dir/events.parquet, out_dir/contract.yaml.
    `contacts` is contacts PER MONTH. Returns a dict summary {"interactions": n_rows, "events": n_events,
    "months": [...'2026-09'...], "contract": path, ...}.

    `contacts` counts system-of-record contacts opened in each calendar month (approximately, follow-ups
    included). A tail of TAIL_DAYS days after the last month is generated at the same daily rate, and ~5%
    provider-export copies come on top. The summary also holds the file paths, the rows by source, the
    system-of-record contacts opened per month ("tail" for the tail), the number of customers who contacted,
    the time window as local ISO timestamps (start, months_end, end = extract time, events_end) and the run
    time in seconds. Same arguments, same table contents.

    `gaming` injects every pattern of docs/integrity.md at `gaming_rate` (see `_inject`) from a random stream
    of its own, and writes the ground truth to out_dir/gaming_labels.parquet (detector, interaction_id,
    subject) and the reclassified rows to out_dir/interactions_updates.parquet (to ingest after
    interactions.parquet). Without it the files are exactly those of the clean generator.
    """
    if contacts < 1 or months < 1:
        raise ValueError("contacts and months must be at least 1")
    if gaming and not 0 < gaming_rate <= 0.5:
        raise ValueError(f"the gaming rate (--gaming-rate) must be in (0, 0.5], got {gaming_rate}")
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    win = _window(start, months)
    pool = _pool(contacts)
    root = np.random.SeedSequence(seed)
    s_days, s_events, s_chunks = root.spawn(3)
    counts = _day_counts(np.random.default_rng(s_days), win, contacts)
    chunks = _chunks(counts)
    chunk_seeds = s_chunks.spawn(len(chunks))
    agent_names = pa.concat_arrays(
        [
            _fixed_strings("NW", np.arange(pool.agents_nw), 6),
            _fixed_strings("OB", np.arange(pool.agents_ob), 6),
        ]
    )

    gm = _Gaming.start(seed, gaming_rate, pool) if gaming else None
    contacted = np.zeros(pool.customers, bool)
    cancel_cust, cancel_at, buy_cust, buy_at = [], [], [], []
    by_month = np.zeros(months + 1, np.int64)
    n_crm = n_dup = 0
    path = out_dir / "interactions.parquet"
    events_path = out_dir / "events.parquet"
    # a background thread builds and writes chunk i while the main thread draws chunk i + 1
    with (pq.ParquetWriter(path, _INTERACTIONS_WRITE, store_schema=False, **_PARQUET) as w,
          _Background() as bg):  # fmt: skip

        def write(r: Rows, ids: np.ndarray, dup: np.ndarray, copies: Rows | None = None) -> None:
            w.write_table(_interactions_table(r, ids, "I", 0, agent_names))
            copies = _take(r, dup) if copies is None else copies
            w.write_table(_interactions_table(copies, ids[dup], "NW", 1, agent_names))

        for ci, (days, ss) in enumerate(zip(chunks, chunk_seeds, strict=True)):
            rng = np.random.default_rng(ss)
            r = _contacts(rng, win, days, counts[days], pool)
            n = len(r["opened"])
            ids = n_crm + 1 + np.arange(n)
            dup = np.flatnonzero((r["provider"] == 0) & (rng.random(n) < DUPLICATE_P))
            copies = None
            if gm is not None:
                r, dup, copies, labels, (upd, upd_pos) = _inject(gm, r, dup, win, pool)
                n = len(r["opened"])
                ids = n_crm + 1 + np.arange(n)
                gm.labels.append(_labels_table(labels, ids))
                gm.updates.append(_interactions_table(upd, ids[upd_pos], "I", 0, agent_names))
            bg.submit(write, r, ids, dup, copies)
            n_crm += n
            n_dup += len(dup)
            month_of = np.searchsorted(win.month_ends, r["opened"], side="right")
            by_month += np.bincount(month_of, minlength=months + 1)
            # what the CRM events need to know
            known = r["cust"] >= 0
            contacted[r["cust"][known]] = True
            cancel = known & (r["intent"] == CANCEL) & (r["closed"] >= 0)
            cancel_cust.append(r["cust"][cancel])
            cancel_at.append(r["closed"][cancel])
            buy = known & (rng.random(n) < 0.04)
            buy_cust.append(r["cust"][buy])
            anchor = np.where(r["closed"][buy] >= 0, r["closed"][buy], r["opened"][buy])
            buy_at.append(anchor + rng.exponential(8 * DAY, int(buy.sum())).astype(np.int64))
            say(f"interactions: chunk {ci + 1}/{len(chunks)}, {n_crm + n_dup:,} rows")

        events = _events(
            np.random.default_rng(s_events),
            win,
            months,
            contacted,
            np.concatenate(cancel_cust),
            np.concatenate(cancel_at),
            np.concatenate(buy_cust),
            np.concatenate(buy_at),
        )
        bg.wait()
    n_events = len(events["at"])
    with (pq.ParquetWriter(events_path, _EVENTS_WRITE, store_schema=False, **_PARQUET) as w,
          _Background() as bg):  # fmt: skip
        for lo in range(0, max(n_events, 1), CHUNK_PRIMARIES):
            bg.submit(w.write_table, _events_table(_take(events, slice(lo, lo + CHUNK_PRIMARIES))))
        bg.wait()
    say(f"events: {n_events:,} rows")

    contract_path = out_dir / "contract.yaml"
    contract_path.write_text(contract_text(start))
    iso = lambda d: d.isoformat()  # noqa: E731
    if gm is None:  # no stale ground truth from an earlier gaming run in the same folder
        for stale in (GAMING_LABELS_FILE, UPDATES_FILE):
            (out_dir / stale).unlink(missing_ok=True)
    extra = {} if gm is None else {"gaming": _write_gaming(gm, out_dir)}
    return extra | {
        "interactions": n_crm + n_dup,
        "events": n_events,
        "months": win.months,
        "contract": str(contract_path),
        "interactions_path": str(path),
        "events_path": str(events_path),
        "seed": seed,
        "contacts_per_month": contacts,
        "system_of_record_rows": n_crm,
        "provider_export_rows": n_dup,
        "opened_by_month": dict(zip([*win.months, "tail"], by_month.tolist(), strict=True)),
        "customers": int(contacted.sum()),
        "window": {
            "start": iso(win.start),
            "months_end": iso(win.months_end),
            "end": iso(win.end),
            "events_end": iso(win.events_end),
        },
        "seconds": round(time.perf_counter() - t0, 3),
    }
