"""`outcomes explain`: how each invoice line was computed, down to interaction ids and the SQL behind them."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import ibis
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from ruamel.yaml import YAML

from outcomes.ledger import Ledger

if TYPE_CHECKING:
    from outcomes.facts import Facts


def _yaml(data: Any) -> str:
    y = YAML()
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def clause(contract: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """The part of the contract a line comes from (as registered)."""
    pricing = contract["pricing"]
    kind = line["kind"]
    if kind == "base_fee":
        return {
            "term": contract["term"],
            "pricing": {"base_fee": pricing.get("base_fee")},
            "glide_path": contract.get("glide_path", []),
        }
    if kind in ("minimum", "maximum"):
        return {"term": contract["term"], "pricing": {kind: pricing.get(kind)}}
    if kind == "value_share":
        return {"pricing": {"value_share": pricing.get("value_share")}}
    if kind == "seat_fee":
        return {"term": contract["term"], "pricing": {"seats": pricing.get("seats")}}
    if kind == "volume_fee":
        basis = (line.get("details") or {}).get("basis")
        fees = [
            f
            for f in pricing.get("volume_fees", [])
            if f["basis"] == basis
            and sorted(f.get("workflows") or contract["workflows"]) == sorted(line["workflows"])
        ]
        return {"system_of_record": contract["system_of_record"], "pricing": {"volume_fees": fees}}
    if kind == "outcome_fee" and line.get("outcome"):
        name = line["outcome"]
        fees = [
            f
            for f in pricing.get("outcome_fees", [])
            if f["outcome"] == name
            and sorted(f.get("workflows") or contract["workflows"]) == sorted(line["workflows"])
        ]
        return {
            "system_of_record": contract["system_of_record"],
            **(
                {"billable_providers": contract["billable_providers"]}
                if "billable_providers" in contract
                else {}
            ),
            "outcomes": {name: contract["outcomes"][name]},
            "workflows": {
                w: contract["workflows"][w] for w in line["workflows"] if w in contract["workflows"]
            },
            "pricing": {"outcome_fees": fees},
            "glide_path": contract.get("glide_path", []),
        }
    return {}


def _samples(facts: Facts, table: str, outcome: str, workflows: list[str], n: int) -> list[dict[str, Any]]:
    """Up to n evidence rows per fate and reason, by interaction id: an Ibis query the facts engine runs."""
    if n <= 0:
        return []
    try:
        t = facts.evidence(table)
        t = t.filter(t.outcome == outcome, t.workflow.isin(list(workflows)))
        w = ibis.window(group_by=[t.status, t.reason], order_by=t.interaction_id)
        t = t.mutate(rn=ibis.row_number().over(w)).filter(ibis._.rn < n)
        t = t.select("status", "reason", "interaction_id", "repeat_id", "workflow").order_by(
            [ibis.asc(c, nulls_first=False) for c in ("status", "reason", "interaction_id")]
        )
        return t.to_pyarrow().to_pylist()
    except Exception as exc:  # the evidence may have been removed under a retention policy
        return [
            {
                "status": "unavailable",
                "reason": str(exc).splitlines()[0],
                "interaction_id": None,
                "repeat_id": None,
                "workflow": None,
            }
        ]


def explain_lines(
    ledger: Ledger, facts: Facts, ref: str, line: int | None, *, sample: int = 5
) -> list[dict[str, Any]]:
    from outcomes.settlement.invoice import invoice_dict

    row = ledger.settlement(ref)
    inv = invoice_dict(row)
    from outcomes.ledger import load_version

    contract = load_version(ledger.contract_version(row.contract, row.version)).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    outcomes = {o.outcome: o for o in row.outcomes}
    if line is not None and not 1 <= line <= len(inv["lines"]):
        from outcomes.ledger import LedgerError

        raise LedgerError(f"settlement {row.id} has lines 1 to {len(inv['lines'])}, not {line}")
    numbers = [line] if line is not None else range(1, len(inv["lines"]) + 1)
    parts = []
    for i in numbers:
        ln = inv["lines"][i - 1]
        part: dict[str, Any] = {
            "settlement": row.id,
            "line": i,
            "kind": ln["kind"],
            "label": ln["label"],
            "quantity": ln["quantity"],
            "unit_price": ln["unit_price"],
            "amount": ln["amount"],
            "unrounded": ln["unrounded"],
            "currency": row.currency,
            "clause": clause(contract, ln),
            "details": ln["details"],
        }
        o = outcomes.get(ln.get("outcome") or "")
        if ln["kind"] == "outcome_fee" and o is not None:
            counts = [c for c in json.loads(o.counts) if c["workflow"] in ln["workflows"]]
            part["counts"] = counts
            part["samples"] = _samples(facts, o.evidence_table, o.outcome, ln["workflows"], sample)
            part["evidence_table"] = o.evidence_table
            part["evidence_location"] = facts.evidence_location(o.evidence_table)
            part["sql"] = o.sql
        parts.append(part)
    return parts


def render(console: Console, parts: list[dict[str, Any]], *, show_sql: bool = False) -> None:
    for p in parts:
        qty = f" · {p['quantity']} x {p['unit_price']}" if p["quantity"] and p["unit_price"] else ""
        console.rule(f"line {p['line']}: {p['label']}{qty} = {p['amount']} {p['currency']}")
        if p["clause"]:
            console.print("[bold]contract clause[/bold]")
            console.print(Syntax(_yaml(p["clause"]), "yaml", theme="ansi_dark", background_color="default"))
        console.print("[bold]arithmetic[/bold] (unrounded " + p["unrounded"] + ")")
        details = {k: v for k, v in p["details"].items() if k not in ("verification", "evidence_table")}
        console.print(Syntax(_yaml(details), "yaml", theme="ansi_dark", background_color="default"))
        if "counts" in p:
            t = Table("workflow", "fate", "reason", "contacts", title="candidates by fate and reason")
            for c in p["counts"]:
                t.add_row(str(c["workflow"]), c["status"], c["reason"] or "", f"{c['n']:,}")
            console.print(t)
            s = Table("fate", "reason", "interaction", "repeat of it", "workflow", title="sample ids")
            for r in p["samples"]:
                s.add_row(
                    r["status"],
                    r["reason"] or "",
                    str(r["interaction_id"] or ""),
                    str(r["repeat_id"] or ""),
                    str(r["workflow"] or ""),
                )
            console.print(s)
            console.print(
                f"every id: [bold]{p['evidence_table']}[/bold] in the facts store ({p['evidence_location']})"
            )
            if show_sql:
                console.print(
                    "[bold]SQL[/bold] (in the dialect of the facts engine that ran it; rerun it on your copy of the facts)"
                )
                console.print(Syntax(p["sql"], "sql", theme="ansi_dark", background_color="default"))
