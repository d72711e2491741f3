"""The invoice shape, built here once: a settlement (computed or recorded) as the plain dict that
`outcomes settle --json` prints, the ledger stores line by line and `show`, `explain` and `rerun` read back;
and its terminal and CSV renderings."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from outcomes.ledger import Settlement
from outcomes.pricing.lines import Line
from outcomes.pricing.money import minor_unit

if TYPE_CHECKING:
    from rich.table import Table

CSV_COLUMNS = (
    "line",
    "kind",
    "label",
    "outcome",
    "workflows",
    "quantity",
    "unit_price",
    "amount",
    "unrounded",
)


LINE_KEYS = ("kind", "label", "outcome", "workflows", "quantity", "unit_price", "amount", "unrounded", "details")


def unit_text(value: Decimal | None, currency: str) -> str | None:
    """A unit price without the trailing zeros a glide factor adds (2.4000 -> 2.40), never below the minor unit."""
    if value is None:
        return None
    minor = minor_unit(currency)
    text = format(value.normalize(), "f")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return format(value.quantize(Decimal(1).scaleb(-minor)), "f") if decimals <= minor else text


def line_dict(ln: Line, currency: str) -> dict[str, Any]:
    """A priced line as the invoice shows it (and the ledger stores it)."""
    d = ln.to_dict()
    d["unit_price"] = unit_text(ln.unit_price, currency)
    d["quantity"] = None if ln.quantity is None else format(ln.quantity.normalize(), "f")
    return {k: d[k] for k in LINE_KEYS}


def invoice(
    *,
    settlement: int | None,
    contract: str,
    version: int,
    period: str,
    status: str,
    fingerprint: str,
    currency: str,
    lines: list[dict[str, Any]],
    total: str,
    notices: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """The one invoice shape; `extra` (measures, metrics) follows the common keys."""
    return {
        "settlement": settlement,
        "contract": contract,
        "version": version,
        "period": period,
        "status": status,
        "fingerprint": fingerprint,
        "currency": currency,
        "lines": lines,
        "total": total,
        "notices": notices,
        **extra,
    }


def invoice_dict(row: Settlement) -> dict[str, Any]:
    """A recorded settlement in the same shape `outcomes settle --json` printed when it was made."""
    return invoice(
        settlement=row.id,
        contract=row.contract,
        version=row.version,
        period=row.period,
        status=row.status,
        fingerprint=row.fingerprint,
        currency=row.currency,
        lines=[
            {
                "kind": ln.kind,
                "label": ln.label,
                "outcome": ln.outcome,
                "workflows": json.loads(ln.workflows),
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "amount": ln.amount,
                "unrounded": ln.unrounded,
                "details": json.loads(ln.details),
            }
            for ln in row.lines
        ],
        total=row.total,
        notices=json.loads(row.notices),
    )


def invoice_table(inv: dict[str, Any]) -> Table:
    from rich.table import Table

    title = f"{inv['contract']} v{inv['version']} · {inv['period']} · {inv['status']}" + (
        f" · settlement {inv['settlement']}" if inv.get("settlement") else " · not recorded"
    )
    t = Table(title=title, caption=f"fingerprint {inv['fingerprint']}", show_footer=True)
    t.add_column("#", justify="right", footer="")
    t.add_column("line", footer="total")
    t.add_column("quantity", justify="right")
    t.add_column("unit", justify="right")
    t.add_column(f"amount ({inv['currency']})", justify="right", footer=f"[bold]{inv['total']}[/bold]")
    for i, ln in enumerate(inv["lines"], start=1):
        amount = ln["amount"]
        style = "red" if amount.startswith("-") else None
        t.add_row(
            str(i),
            ln["label"],
            ln["quantity"] or "",
            _unit(ln["unit_price"]),
            f"[{style}]{amount}[/{style}]" if style else amount,
        )
    return t


def _unit(value: str | None) -> str:
    if value is None:
        return ""
    # Averages of tiered lines can have long fractions; the exact value is in --json.
    if "." in value and len(value.split(".")[1]) > 4:
        whole, frac = value.split(".")
        return f"{whole}.{frac[:4]}…"
    return value


def invoice_csv(inv: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("contract", "version", "period", "status", "fingerprint", "currency", *CSV_COLUMNS))
    head = (
        inv["contract"],
        inv["version"],
        inv["period"],
        inv["status"],
        inv["fingerprint"],
        inv["currency"],
    )
    for i, ln in enumerate(inv["lines"], start=1):
        w.writerow(
            (
                *head,
                i,
                ln["kind"],
                ln["label"],
                ln["outcome"] or "",
                " ".join(ln["workflows"]),
                ln["quantity"] or "",
                ln["unit_price"] or "",
                ln["amount"],
                ln["unrounded"],
            )
        )
    w.writerow((*head, "", "total", "total", "", "", "", "", inv["total"], ""))
    return buf.getvalue()
