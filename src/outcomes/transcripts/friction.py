"""Friction topics: a period's customer turns clustered into recurring topics (`outcomes topics`).

One document per contact: its customer turns, redacted, with @handles, links and placeholders removed.
Documents become hashed TF-IDF vectors (scikit-learn ``HashingVectorizer`` of words and word pairs, English
stop words removed, then ``TfidfTransformer``) and are factored by NMF (``init="nndsvda"``: deterministic,
and seeded) into `k` topics; a contact belongs to its heaviest topic (a contact with no usable words to
none). The same data and seed give the same topics, run after run.

Each topic is labelled by its top terms (the corpus's words whose hashed column weighs most in the topic)
and three redacted examples (the contacts that belong to it most strongly), and measured:

- volume: its contacts in the period;
- repeat-contact rate: the share of those contacts repeated by the project's one repeat-contact test
  (metrics/repeats.py) under the contract's first `repeat_contact` rule (else 7 days, same customer);
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
_SHOWN = re.compile(r"[.]?@\w+|https?://\S+")


def clean(text: str) -> str:
    """What the topic model reads: no @handles, links, placeholders or HTML entities."""
    return _CLEAN.sub(" ", text)


def example(text: str) -> str:
    """An example as shown: redacted text without @handles and links, on one line, at most 280 characters."""
    import html

    return " ".join(html.unescape(_SHOWN.sub(" ", text)).split())[:280]


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


def _contacts(facts: Any, contract: Any, window: Any, rule: Any) -> list[dict[str, Any]]:
    """In-scope contacts closed in the window with their customer text, repeat flag and handle seconds.

    Repeated: the project's one repeat-contact test (metrics/repeats.py) with `rule`."""
    from outcomes.facts import transcripts as ft
    from outcomes.metrics.repeats import repeated, with_next_contact, within_reach
    from outcomes.metrics.scope import billable, closed_in, with_workflow

    t = with_workflow(contract, facts.interactions())
    t = t.filter(within_reach(t, window.end, rule))
    t = with_next_contact(contract, rule, t)
    t = t.filter(
        (t.source == contract.system_of_record) & billable(contract, t.provider) & t.workflow.notnull() & closed_in(t, window)
    )
    t = t.select("source", "interaction_id", "handle_seconds", is_repeat=repeated(t, rule))
    rows = facts.ibis().to_pyarrow(t).to_pylist()
    keys = sorted((r["source"], r["interaction_id"]) for r in rows)
    turns = ft.turns(facts, keys)
    info = {(r["source"], r["interaction_id"]): r for r in rows}
    out = []
    for key in keys:
        customer = [(text, name) for _, sp, text, _, name in turns.get(key, []) if sp == "customer"]
        if not customer:
            continue
        names = tuple(sorted({n for _, n in customer if n}))
        out.append(
            {
                "key": key,
                "texts": [text for text, _ in customer],
                "names": names,
                "repeated": bool(info[key]["is_repeat"]),
                "handle": info[key]["handle_seconds"],
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

    from outcomes.metrics.repeats import RepeatRule

    rules = [RepeatRule.of(o) for o in contract.outcomes.values() if o.repeat_contact is not None]
    rule = next((r for r in rules if r is not None), RepeatRule(DEFAULT_REPEAT_SECONDS))
    within = rule.within
    redactor = Redactor(regions=regions)
    now = _contacts(facts, contract, window, rule)
    before = _contacts(facts, contract, previous_window, rule)

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
                "examples": [example(docs[i]) for i in strongest],
                "example_ids": [now[i]["key"][1] for i in strongest],
            }
        )
    report["topics"] = rank_topics(topics)
    report["unassigned"] = sum(1 for a in model.assignment if a is None)
    return report


def topic_chart(report: dict[str, Any]) -> Any:
    """An Altair chart: contacts per topic (bars, ranked), each labelled with its repeat-contact rate and growth.

    No continuous colour scale: vl-convert numbers gradients per render, and the same report must give the
    same bytes."""
    import altair as alt

    rows = []
    for i, t in enumerate(report["topics"], 1):
        repeat = "n/a" if t["repeat_rate"] is None else f"{100 * t['repeat_rate']:.0f}%"
        growth = "new" if t["growth"] is None else f"{100 * t['growth']:+.0f}%"
        rows.append(
            {
                "topic": f"{i}. " + ", ".join(t["terms"][:3]),
                "rank": i,
                "contacts": t["contacts"],
                "note": f"repeat {repeat} · growth {growth}",
            }
        )
    base = alt.Chart(alt.Data(values=rows), title=f"Friction topics, {report['contract']} {report['period']}")
    y = alt.Y("topic:N", sort=alt.SortField("rank"), title=None)
    bars = base.mark_bar(color="#b5542c").encode(y=y, x=alt.X("contacts:Q", title="contacts"))
    notes = base.mark_text(align="left", dx=4, fontSize=10).encode(y=y, x="contacts:Q", text="note:N")
    return (bars + notes).properties(width=420, height=max(120, 22 * len(rows)))


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
