"""Charts of the simulator, in Altair like the scorecard's (`analysis/charts.py`, rendered by vl-convert).

`compare_chart`: buyer cost, provider revenue and provider margin per contract, side by side.
`distribution_chart`: each contract's P10-P90 range and P50 of a scenario's buyer cost and provider margin.
Only the picture uses floats; the figures stay exact decimals in the tables and JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt

from outcomes.analysis.charts import render

MEASURES = (
    ("buyer_cost", "buyer cost"),
    ("provider_revenue", "provider revenue"),
    ("provider_margin", "provider margin"),
)
COLORS = ["#1f5f99", "#6a9f3a", "#b5542c"]


def _name(row: dict[str, Any]) -> str:
    return Path(row["source"]).stem if row.get("source") else row["contract"]


def compare_chart(table: dict[str, Any]) -> alt.Chart:
    data = [
        {"contract": _name(r), "measure": label, "amount": float(r[key])}
        for r in table["rows"]
        for key, label in MEASURES
        if r.get(key) is not None
    ]
    order = [label for _, label in MEASURES]
    return (
        alt.Chart(alt.Data(values=data), title=f"Period {table['period']} under each contract")
        .mark_bar()
        .encode(
            x=alt.X("contract:N", title=None, sort=None),
            xOffset=alt.XOffset("measure:N", sort=order),
            y=alt.Y("amount:Q", title=table["currency"]),
            color=alt.Color("measure:N", sort=order, scale=alt.Scale(range=COLORS), title=None),
            tooltip=["contract:N", "measure:N", alt.Tooltip("amount:Q", format=",.2f")],
        )
        .properties(width=120 * max(1, len(table["rows"])), height=220)
    )


def distribution_chart(result: dict[str, Any]) -> alt.VConcatChart:
    panels = []
    for key, label in (("buyer_cost", "buyer cost"), ("provider_margin", "provider margin")):
        data = [
            {
                "contract": c["name"],
                "p10": float(c[key]["p10"]),
                "p50": float(c[key]["p50"]),
                "p90": float(c[key]["p90"]),
            }
            for c in result["contracts"]
            if c[key] is not None
        ]
        if not data:
            continue
        base = alt.Chart(alt.Data(values=data)).encode(y=alt.Y("contract:N", title=None, sort=None))
        rule = base.mark_rule(strokeWidth=3, color=COLORS[0]).encode(
            x=alt.X("p10:Q", title=f"{label} per period ({result['currency']}), P10-P90 and P50"), x2="p90:Q"
        )
        tick = base.mark_tick(color=COLORS[2], thickness=3, size=18).encode(x="p50:Q")
        panels.append((rule + tick).properties(width=420, height=28 * max(1, len(data)), title=label))
    return alt.vconcat(*panels)


def write_chart(chart: alt.TopLevelMixin, path: Path) -> Path:
    """SVG or PNG by the file's suffix (.svg, .png), or the Vega-Lite page (.html)."""
    suffix = path.suffix.lower()
    if suffix == ".html":
        path.write_text(chart.to_html(), encoding="utf-8")
    elif suffix in (".svg", ".png"):
        path.write_bytes(render(chart, suffix[1:]))
    else:
        raise ValueError(f"a chart file ends in .svg, .png or .html, not {path.name!r}")
    return path
