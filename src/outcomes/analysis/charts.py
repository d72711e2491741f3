"""Scorecard charts: one chart per group, one small panel per metric, its trend and the baseline (docs/scorecard.md).

`group_chart(card, group)` is pure: it takes the scorecard dict (`outcomes.analysis.scorecard.scorecard`) and returns an
Altair chart. `render(chart, fmt)` turns it into SVG or PNG bytes with vl-convert (no browser, no network);
`write_charts(card, directory, fmt)` is the I/O at the edge.

Each metric has its own panel and its own y axis in its own unit (rates in percent, money in the contract's
currency, seconds, means, NPS points): metrics with different units never share an axis. The x axis is the
trend's periods, oldest first. An undefined value is not drawn (a gap, never 0). The baseline period's value is
a dashed horizontal rule labelled with its period. Data is inline and ordered, so the same scorecard gives the
same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt

from outcomes.analysis.scorecard import show
from outcomes.contract.names import file_in

FORMATS = ("svg", "png")

#: Panel size in pixels, and panels per row.
PANEL_WIDTH = 180
PANEL_HEIGHT = 120
COLUMNS = 3

TREND_COLOR = "#1f5f99"
BASELINE_COLOR = "#b5542c"


def axis_unit(unit: str, currency: str) -> str:
    """The y axis title of a metric of `unit` (scorecard units: rate, mean, score, seconds, money)."""
    return {
        "rate": "percent",
        "money": currency,
        "seconds": "seconds",
        "score": "NPS (-100..100)",
        "mean": "mean",
    }.get(unit, unit)


def panel_title(label: str, unit: str, currency: str) -> str:
    """A panel's title: the row's label, with the unit when the label does not say it (rates, money)."""
    if unit == "rate":
        return f"{label} (%)"
    if unit == "money":
        return f"{label} ({currency})"
    return label


def plotted(value: str | None, unit: str) -> float | None:
    """A scorecard value (a 6-place decimal text) as a chart coordinate: rates in percent.

    Only the picture uses floats; the scorecard's values stay exact."""
    if value is None:
        return None
    d = Decimal(value)
    if unit == "rate":
        d *= 100
    return float(d)


def chart_rows(card: Mapping[str, Any], group: str) -> list[dict[str, Any]]:
    """The chart's data: one row per metric and trend period (`role` trend) and one per metric for the
    baseline (`role` baseline), with the value to plot (None when undefined) and its unit's axis title."""
    g = _group(card, group)
    rows: list[dict[str, Any]] = []
    for m in g["metrics"]:
        unit = axis_unit(m["unit"], card["currency"])
        title = panel_title(m["label"], m["unit"], card["currency"])
        for pt in m["trend"]:
            rows.append(
                {
                    "metric": title,
                    "unit": unit,
                    "period": pt["period"],
                    "role": "trend",
                    "value": plotted(pt["value"], m["unit"]),
                    "shown": _shown(pt["value"], m["unit"], pt["undefined"]),
                }
            )
        b = m["baseline"]
        if b is not None:
            rows.append(
                {
                    "metric": title,
                    "unit": unit,
                    "period": b["period"],
                    "role": "baseline",
                    "value": plotted(b["value"], m["unit"]),
                    "shown": f"baseline {b['period']}",
                }
            )
    return rows


def group_chart(card: Mapping[str, Any], group: str) -> alt.FacetChart:
    """One group's chart: a panel per metric (in the scorecard's order) with an independent y axis."""
    g = _group(card, group)
    rows = chart_rows(card, group)
    titles = [panel_title(m["label"], m["unit"], card["currency"]) for m in g["metrics"]]
    data = alt.Data(values=rows)
    x = alt.X("period:O", sort=list(card["trend"]), title=None, axis=alt.Axis(labelAngle=0))
    # a fixed axis width keeps the panels of a row aligned whatever their labels
    y = alt.Y(
        "value:Q",
        title=None,
        scale=alt.Scale(zero=False, padding=16),
        axis=alt.Axis(minExtent=44, maxExtent=44),
    )
    trend = alt.datum.role == "trend"
    defined = "isValid(datum.value)"
    base = alt.Chart()  # the data is the facet's, so that each panel gets its metric's rows
    # the line keeps undefined points so that it breaks there (a gap), instead of joining their neighbours
    line = (
        base.transform_filter(trend)
        .mark_line(color=TREND_COLOR, invalid="break-paths-filter-domains")
        .encode(x=x, y=y)
    )
    points = (
        base.transform_filter(trend)
        .transform_filter(defined)
        .mark_point(color=TREND_COLOR, filled=True, size=40)
        .encode(x=x, y=y, tooltip=["metric:N", "period:O", "shown:N"])
    )
    values = (
        base.transform_filter(trend)
        .transform_filter(defined)
        .mark_text(dy=-9, fontSize=9, color=TREND_COLOR)
        .encode(x=x, y=y, text="shown:N")
    )
    rule = (
        base.transform_filter(alt.datum.role == "baseline")
        .transform_filter(defined)
        .mark_rule(color=BASELINE_COLOR, strokeDash=[4, 3])
        .encode(y=y)
    )
    rule_label = (
        base.transform_filter(alt.datum.role == "baseline")
        .transform_filter(defined)
        .mark_text(align="right", baseline="bottom", dy=-2, fontSize=9, color=BASELINE_COLOR)
        .encode(y=y, x=alt.value(PANEL_WIDTH), text="shown:N")
    )
    layered = alt.layer(line, points, values, rule, rule_label).properties(
        width=PANEL_WIDTH, height=PANEL_HEIGHT
    )
    wf = card["workflow"] or "all workflows"
    subtitle = [
        f"{card['contract']} v{card['version']}, {wf}; trend to {card['period']}"
        + (f", dashed: baseline {card['baseline']}" if card["baseline"] is not None else ""),
        "each metric on its own axis (rates in percent, money in "
        f"{card['currency']}); a gap is an undefined value, never 0",
    ]
    return (
        layered.facet(
            facet=alt.Facet(
                "metric:N",
                sort=titles,
                title=None,
                header=alt.Header(labelFontWeight="bold", labelFontSize=11),
            ),
            columns=COLUMNS,
            data=data,
        )
        .resolve_scale(y="independent")
        .resolve_axis(x="independent", y="independent")
        .properties(title=alt.TitleParams(g["title"], subtitle=subtitle, anchor="start"))
        .configure_view(stroke="#dddddd")
    )


def render(chart: alt.TopLevelMixin, fmt: str) -> bytes:
    """SVG or PNG bytes of a chart, rendered by vl-convert (no browser, no network)."""
    import vl_convert as vlc

    if fmt not in FORMATS:
        raise ValueError(f"chart format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    spec = chart.to_dict()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    return vlc.vegalite_to_png(spec, scale=2)


def chart_name(card: Mapping[str, Any], group: str, fmt: str) -> str:
    """`scorecard-<contract>-<period>-<workflow or all>-<group>.<fmt>`."""
    wf = card["workflow"] or "all"
    return f"scorecard-{card['contract']}-{card['period']}-{wf}-{group}.{fmt}"


def write_charts(card: Mapping[str, Any], directory: Path, fmt: str = "svg") -> list[Path]:
    """Write one chart per group into `directory` (created if missing); returns the paths, in group order."""
    if fmt not in FORMATS:
        raise ValueError(f"chart format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for g in card["groups"]:
        path = file_in(directory, chart_name(card, g["group"], fmt))  # never outside `directory`
        path.write_bytes(render(group_chart(card, g["group"]), fmt))
        paths.append(path)
    return paths


def _group(card: Mapping[str, Any], group: str) -> Mapping[str, Any]:
    for g in card["groups"]:
        if g["group"] == group:
            return g
    known = ", ".join(g["group"] for g in card["groups"])
    raise ValueError(f"no scorecard group {group!r} (groups: {known})")


def _shown(value: str | None, unit: str, undefined: str | None) -> str:
    """A value as the scorecard table shows it (the point's label)."""
    if value is None:
        return f"undefined: {undefined}" if undefined else "undefined"
    return show(value, unit)
