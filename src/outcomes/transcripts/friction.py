"""Friction topics: a period's customer turns clustered into recurring topics (`outcomes topics`).

One document per contact: its customer turns, redacted, with @handles, links and placeholders removed.
Documents become hashed TF-IDF vectors (scikit-learn ``HashingVectorizer`` of words and word pairs, English
stop words removed, then ``TfidfTransformer``) and are factored by NMF (``init="nndsvda"``: deterministic,
and seeded) into `k` topics; a contact belongs to its heaviest topic (a contact with no usable words to
none). The same data and seed give the same topics, run after run.

Each topic is labelled by its top terms (the corpus's words whose hashed column weighs most in the topic)
and three redacted examples (the contacts that belong to it most strongly), and measured:

- volume: its contacts in the period;
- repeat-contact rate: the share of those contacts whose customer opened another contact within the
  window after it closed (the contract's repeat-contact window, else 7 days);
- cost: the agent handle hours of its contacts (handle_seconds / 3600);
- growth: contacts now vs. the previous period's contacts assigned to the same topics (None: none before).

Ranked by volume, then repeat-contact rate, then cost. `topic_model` and `rank_topics` are pure; reading the
store is `friction_report`'s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from outcomes.transcripts.redact import DEFAULT_REGIONS, Redactor

N_FEATURES = 2**18
DEFAULT_REPEAT_SECONDS = 7 * 86400

_CLEAN = re.compile(r"@\w+|https?://\S+|\[[A-Z_]+\]|&amp;|&lt;|&gt;")


def clean(text: str) -> str:
    return _CLEAN.sub(" ", text)


@dataclass(frozen=True)
class TopicModel:
    terms: list[list[str]]  # per topic, top terms first
    assignment: list[int | None]  # per document: its topic (None: no usable words)
    strength: list[float]  # per document: the weight of its topic
    model: Any  # (vectorizer, tfidf, nmf) to assign other documents

    def assign(self, docs: Sequence[str]) -> list[int | None]:
        vectorizer, tfidf, nmf = self.model
        if not docs:
            return []
        w = nmf.transform(tfidf.transform(vectorizer.transform([clean(d) for d in docs])))
        return [None if row.max() <= 0 else int(row.argmax()) for row in w]


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        ngram_range=(1, 2),
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z']+\b",
        lowercase=True,
    )


def topic_model(docs: Sequence[str], k: int, seed: int = 7, top: int = 8) -> TopicModel:
    """Fit `k` topics to the documents (pure: the same documents, k and seed give the same model)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.utils import murmurhash3_32

    vectorizer = _vectorizer()
    cleaned = [clean(d) for d in docs]
    counts = vectorizer.transform(cleaned)
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    x = tfidf.transform(counts)
    k = max(1, min(k, x.shape[0], max(1, x.nnz)))
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
    w = nmf.fit_transform(x)
    # the hashed columns back to words: every term of the corpus, by its column
    analyzer = vectorizer.build_analyzer()
    by_column: dict[int, str] = {}
    for d in cleaned:
        for term in analyzer(d):
            col = murmurhash3_32(term, seed=0, positive=True) % N_FEATURES
            # a collision keeps the shorter (then alphabetically first) term, so labels are stable
            have = by_column.get(col)
            if have is None or (len(term), term) < (len(have), have):
                by_column[col] = term
    terms: list[list[str]] = []
    for comp in nmf.components_:
        order = comp.argsort()[::-1]
        picked: list[str] = []
        for col in order:
            if comp[col] <= 0 or len(picked) >= top:
                break
            term = by_column.get(int(col))
            if term and not any(term in p.split() or p in term.split() for p in picked):
                picked.append(term)
        terms.append(picked)
    assignment = [None if row.max() <= 0 else int(row.argmax()) for row in w]
    strength = [float(row.max()) for row in w]
    return TopicModel(terms, assignment, strength, (vectorizer, tfidf, nmf))


def rank_topics(topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Volume first, then repeat-contact rate, then cost (undefined last), then the first term."""
    return sorted(
        topics,
        key=lambda t: (
            -t["contacts"],
            -(t["repeat_rate"] if t["repeat_rate"] is not None else -1.0),
            -(float(t["cost"]) if t["cost"] is not None else -1.0),
            t["terms"][0] if t["terms"] else "",
        ),
    )


def _contacts(facts: Any, contract: Any, window: Any, within: int) -> list[dict[str, Any]]:
    """In-scope contacts closed in the window with their customer text, repeat flag and handle seconds."""
    import ibis

    from outcomes.facts import transcripts as ft
    from outcomes.metrics.scope import billable, closed_in, with_workflow

    i = facts.interactions()
    t = with_workflow(contract, i)
    t = t.filter(
        (t.source == contract.system_of_record) & billable(contract, t.provider) & t.workflow.notnull() & closed_in(t, window)
    )
    later = i.filter(i.source == contract.system_of_record).select(
        r_customer="customer_id", r_opened="opened_at", r_id="interaction_id"
    )
    j = t.left_join(
        later,
        [
            t.customer_id == later.r_customer,
            later.r_opened > t.closed_at,
            later.r_opened <= t.closed_at + ibis.interval(seconds=within),
            later.r_id != t.interaction_id,
        ],
    )
    g = j.group_by([j.source, j.interaction_id]).agg(
        repeated=j.r_id.notnull().any(), handle=j.handle_seconds.max()
    )
    rows = facts.ibis().to_pyarrow(g).to_pylist()
    keys = sorted((r["source"], r["interaction_id"]) for r in rows)
    turns = ft.turns(facts, keys)
    info = {(r["source"], r["interaction_id"]): r for r in rows}
    out = []
    for key in keys:
        customer = [(text, name) for _, sp, text, _, name in turns.get(key, []) if sp == "customer"]
        if not customer:
            continue
        names = tuple({n for _, n in customer if n})
        out.append(
            {
                "key": key,
                "texts": [text for text, _ in customer],
                "names": names,
                "repeated": bool(info[key]["repeated"]),
                "handle": info[key]["handle"],
            }
        )
    return out


def friction_report(
    facts: Any,
    contract: Any,
    window: Any,
    previous_window: Any,
    *,
    k: int = 12,
    seed: int = 7,
    regions: tuple[str, ...] = DEFAULT_REGIONS,
) -> dict[str, Any]:
    from decimal import Decimal

    within = max(
        (o.repeat_contact.within for o in contract.outcomes.values() if o.repeat_contact is not None),
        default=DEFAULT_REPEAT_SECONDS,
    )
    redactor = Redactor(regions=regions)
    now = _contacts(facts, contract, window, within)
    before = _contacts(facts, contract, previous_window, within)

    def doc(c: dict[str, Any]) -> str:
        return "\n".join(redactor(t, c["names"]).text for t in c["texts"])

    docs = [doc(c) for c in now]
    report: dict[str, Any] = {
        "contract": contract.contract,
        "period": window.period.label,
        "contacts": len(now),
        "turns": sum(len(c["texts"]) for c in now),
        "seed": seed,
        "repeat_window_seconds": within,
        "previous": {"period": previous_window.period.label, "contacts": len(before)},
        "topics": [],
    }
    if len(docs) < 2:
        return report
    model = topic_model(docs, k, seed)
    prev_assign = model.assign([doc(c) for c in before])
    topics = []
    for n, terms in enumerate(model.terms):
        members = [i for i, a in enumerate(model.assignment) if a == n]
        if not members:
            continue
        handles = [now[i]["handle"] for i in members if now[i]["handle"] is not None]
        cost = (
            str((sum(Decimal(str(h)) for h in handles) / Decimal(3600)).quantize(Decimal("0.01")))
            if handles
            else None
        )
        previous = sum(1 for a in prev_assign if a == n)
        strongest = sorted(members, key=lambda i: (-model.strength[i], now[i]["key"]))[:3]
        topics.append(
            {
                "topic": n,
                "terms": terms,
                "contacts": len(members),
                "repeat_rate": sum(1 for i in members if now[i]["repeated"]) / len(members),
                "cost": cost,
                "cost_unit": "handle hours",
                "previous_contacts": previous,
                "growth": None if previous == 0 else (len(members) - previous) / previous,
                "examples": [" ".join(docs[i].split())[:280] for i in strongest],
                "example_ids": [now[i]["key"][1] for i in strongest],
            }
        )
    report["topics"] = rank_topics(topics)
    report["unassigned"] = sum(1 for a in model.assignment if a is None)
    return report


def topic_chart(report: dict[str, Any]) -> Any:
    """An Altair chart: contacts per topic (bars, ranked), coloured by repeat-contact rate."""
    import altair as alt

    rows = [
        {
            "topic": f"{i}. " + ", ".join(t["terms"][:3]),
            "rank": i,
            "contacts": t["contacts"],
            "repeat rate (%)": round(100 * t["repeat_rate"], 1) if t["repeat_rate"] is not None else None,
            "growth (%)": None if t["growth"] is None else round(100 * t["growth"], 1),
        }
        for i, t in enumerate(report["topics"], 1)
    ]
    data = alt.Data(values=rows)
    return (
        alt.Chart(data, title=f"Friction topics, {report['contract']} {report['period']}")
        .mark_bar()
        .encode(
            y=alt.Y("topic:N", sort=alt.SortField("rank"), title=None),
            x=alt.X("contacts:Q", title="contacts"),
            color=alt.Color("repeat rate (%):Q", scale=alt.Scale(scheme="oranges"), title="repeat rate (%)"),
            tooltip=["topic:N", "contacts:Q", "repeat rate (%):Q", "growth (%):Q"],
        )
        .properties(width=420, height=max(120, 22 * len(rows)))
    )


def render_chart(report: dict[str, Any], fmt: str) -> bytes:
    """SVG or PNG bytes of the topic chart (vl-convert: no browser, no network)."""
    import vl_convert as vlc

    from outcomes.transcripts.errors import TranscriptError

    spec = topic_chart(report).to_dict()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=2)
    raise TranscriptError(f"chart format must be svg or png, not {fmt!r}", hint="name the file .svg or .png")
