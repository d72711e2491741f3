"""`outcomes renewal`: the fact base of a renewal conversation, from the ledger and the facts of a window.

For a contract and a window of settled periods: per workflow (the outcome portfolio) the outcomes counted and
how many claims verified; the service levels' targets against actuals; credits paid and earned back; disputes;
the trend of the total, verified resolutions and cost per verified resolution; integrity findings; pilots'
uplift (a value share gated on a lift); and the cost of the same periods under alternative structures
(`compare`, exactly as each would have settled). Read only: nothing is recorded, evidence tables are dropped.
`render_html` lays the pack out with the package's Jinja2 template, charts from the scorecard's Altair code;
`render_pdf` prints that HTML with WeasyPrint (the `report` extra).
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from outcomes.contract import Contract
from outcomes.errors import OutcomesError
from outcomes.period import Period
from outcomes.pricing.money import money_text, round_money
from outcomes.simulator.basis import measure_basis, structure_of
from outcomes.simulator.compare import comparison
from outcomes.simulator.scenario import Costs

TEMPLATES = Path(__file__).parent / "templates"


class RenewalError(OutcomesError):
    code = "renewal_refused"


def _dec(text: str | None) -> Decimal:
    return Decimal(text) if text not in (None, "") else Decimal(0)


def _m(amount: Decimal, currency: str) -> str:
    return money_text(round_money(amount, currency))


def collect(
    ws: Any,
    contract_id: str,
    start: str,
    end: str,
    *,
    alternatives: list[tuple[str, Contract]] = (),  # type: ignore[assignment]
    costs: Costs | None = None,
    integrity: bool = True,
) -> dict[str, Any]:
    from outcomes.settlement.resolve import latest_version, period_of, version_for

    ledger, facts = ws.ledger(), ws.facts()
    latest = latest_version(ledger, contract_id)
    p1, p2 = period_of(ledger, contract_id, start), period_of(ledger, contract_id, end)
    if p2.label < p1.label:
        raise RenewalError(f"--to {p2.label} is before --from {p1.label}")
    settled = [s for s in ledger.settlements(contract_id) if p1.label <= s.period <= p2.label]
    if not settled:
        raise RenewalError(
            f"{contract_id} has no settlement from {p1.label} to {p2.label}",
            hint="settle the periods first (`outcomes settle`); the pack is built from settled periods",
        )
    settled.sort(key=lambda s: s.period)
    cur = latest.currency
    periods, workflows, measures, pilots = [], defaultdict(dict), [], []
    credits = earned = productivity = adjustments = Decimal(0)
    for s in settled:
        lines = sorted(s.lines, key=lambda ln: ln.seq)
        by_kind: dict[str, Decimal] = defaultdict(Decimal)
        for ln in lines:
            by_kind[ln.kind] += _dec(ln.amount)
            if ln.kind == "value_share":
                d = json.loads(ln.details or "{}")
                if "lift" in d:
                    pilots.append({"period": s.period, "status": d.get("status", "paid"), "lift": d["lift"]})
        resolutions = 0
        for o in s.outcomes:
            for row in json.loads(o.counts or "[]"):
                wf = row.get("workflow") or "(none)"
                cell = workflows[wf].setdefault(
                    s.period, defaultdict(lambda: {"counted": 0, "candidates": 0})
                )
                cell[o.outcome]["candidates"] += int(row["n"])
                if row["status"] == "counted":
                    cell[o.outcome]["counted"] += int(row["n"])
                    if o.kind == "resolution":
                        resolutions += int(row["n"])
        total = _dec(s.total)
        periods.append(
            {
                "period": s.period,
                "version": s.version,
                "status": s.status,
                "total": money_text(total),
                "fees": _m(sum((v for k, v in by_kind.items() if k.endswith("_fee")), Decimal(0)), cur),
                "credits": _m(by_kind["service_credit"], cur),
                "earned_back": _m(by_kind["earn_back"], cur),
                "productivity_share": _m(by_kind["productivity_share"], cur),
                "adjustments": _m(by_kind["adjustment"], cur),
                "verified_resolutions": resolutions,
                "cost_per_verified_resolution": money_text(round_money(total / resolutions, cur))
                if resolutions
                else None,
                "review_notices": [
                    n["message"] for n in json.loads(s.notices or "[]") if n.get("code") == "review_trigger"
                ],
            }
        )
        credits += by_kind["service_credit"]
        earned += by_kind["earn_back"]
        productivity += by_kind["productivity_share"]
        adjustments += by_kind["adjustment"]
        credit_of = {
            int(json.loads(ln.details or "{}").get("measure", -1)): ln.amount
            for ln in lines
            if ln.kind == "service_credit"
        }
        sl = latest.service_levels
        for m in json.loads(s.measures or "[]"):
            i = int(m.get("measure", -1))
            scope = sl.measures[i].workflows if sl is not None and 0 <= i < len(sl.measures) else None
            measures.append({"period": s.period, **m, "workflows": scope, "credit": credit_of.get(i)})
    disputes = [
        {
            "id": d.id,
            "period": d.period,
            "line": d.line_label,
            "opened_by": d.opened_by,
            "amount_claimed": d.amount_claimed,
            "state": d.state,
            "reason": d.reason,
        }
        for d in ledger.disputes(contract_id)
        if p1.label <= d.period <= p2.label
    ]
    findings = []
    if integrity:
        from outcomes.analysis.integrity.run import collect as integrity_of

        for s in settled:
            report = integrity_of(ws, contract_id, s.period)
            for f in report.findings:
                d = f.to_dict(cur)
                findings.append(
                    {
                        "period": s.period,
                        **{
                            k: d[k]
                            for k in ("detector", "severity", "subject", "count", "message", "billing_effect")
                        },
                    }
                )
    # the cost of the same periods under the alternatives, each priced exactly as it would have settled
    alternative_totals: list[dict[str, Any]] = []
    if alternatives:
        sums: dict[str, dict[str, Any]] = {}
        for s in settled:
            p = Period.parse(s.period, latest.period)
            own, _ = version_for(ledger, contract_id, p)
            bases = [
                measure_basis(ledger, facts, c, s.period, source=src, provisional=True)
                for src, c in [(contract_id, own), *alternatives]
            ]
            for row in comparison(bases, costs)["rows"]:
                acc = sums.setdefault(
                    row["source"],
                    {
                        "name": Path(row["source"]).stem,
                        "structure": row["structure"],
                        "invoice": Decimal(0),
                        "buyer_cost": Decimal(0),
                        "verified_resolutions": 0,
                        "provider_margin": None if row["provider_margin"] is None else Decimal(0),
                    },
                )
                acc["invoice"] += _dec(row["invoice"])
                acc["buyer_cost"] += _dec(row["buyer_cost"])
                acc["verified_resolutions"] += row["verified_resolutions"]
                if acc["provider_margin"] is not None:
                    acc["provider_margin"] += _dec(row["provider_margin"])
        for acc in sums.values():
            n = acc["verified_resolutions"]
            alternative_totals.append(
                {
                    **acc,
                    "invoice": _m(acc["invoice"], cur),
                    "buyer_cost": _m(acc["buyer_cost"], cur),
                    "provider_margin": None if acc["provider_margin"] is None else _m(acc["provider_margin"], cur),
                    "cost_per_verified_resolution": money_text(round_money(acc["buyer_cost"] / n, cur))
                    if n
                    else None,
                }
            )
    return {
        "contract": contract_id,
        "version": latest.version,
        "parties": latest.parties.model_dump(exclude_none=True),
        "structure": structure_of(latest),
        "currency": cur,
        "from": p1.label,
        "to": p2.label,
        "periods": periods,
        "workflows": {
            wf: {p: {o: dict(v) for o, v in cells.items()} for p, cells in sorted(by_period.items())}
            for wf, by_period in sorted(workflows.items())
        },
        "measures": measures,
        "totals": {
            "billed": _m(sum((_dec(p["total"]) for p in periods), Decimal(0)), cur),
            "credits": _m(credits, cur),
            "earned_back": _m(earned, cur),
            "productivity_share": _m(productivity, cur),
            "adjustments": _m(adjustments, cur),
        },
        "disputes": disputes,
        "integrity": findings if integrity else None,
        "pilots": pilots,
        "alternatives": alternative_totals,
    }


def charts(ws: Any, pack: dict[str, Any]) -> list[dict[str, str]]:
    """The scorecard's charts over the window (its Altair code), as SVG data URIs for the page."""
    from outcomes.analysis.charts import group_chart, render
    from outcomes.analysis.scorecard import collect as scorecard_of

    card = scorecard_of(ws, pack["contract"], pack["to"], trend=max(2, len(pack["periods"])))
    out = []
    for g in card["groups"]:
        svg = render(group_chart(card, g["group"]), "svg")
        out.append(
            {"title": g["title"], "src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode()}
        )
    if pack["alternatives"]:
        from outcomes.simulator.charts import compare_chart

        table = {
            "period": f"{pack['from']} to {pack['to']}",
            "currency": pack["currency"],
            "rows": [
                {
                    "source": a["name"],
                    "contract": a["name"],
                    "buyer_cost": a["buyer_cost"],
                    "provider_revenue": a["invoice"],
                    "provider_margin": a["provider_margin"],
                }
                for a in pack["alternatives"]
            ],
        }
        svg = render(compare_chart(table), "svg")
        out.append(
            {
                "title": "The same periods under each structure",
                "src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode(),
            }
        )
    return out


def render_html(pack: dict[str, Any], chart_images: list[dict[str, str]] = ()) -> str:  # type: ignore[assignment]
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("renewal.html").render(pack=pack, charts=list(chart_images))


def render_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except ImportError:  # pragma: no cover - the `report` extra is not installed
        raise RenewalError(
            "--pdf needs WeasyPrint", hint="install the report extra: pip install 'outcomes[report]'"
        ) from None
    return weasyprint.HTML(string=html).write_pdf()
