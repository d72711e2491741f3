"""The floor: the settlement's counts asked of DuckDB as one hand-written SQL query over the Parquet files.

Same contract semantics (workflow by queue, system of record, billable providers, reasons in order, repeat
windows by LEAD over contact order, saves with churn and once per customer), no evidence written, no Ibis.
"""

from __future__ import annotations

from datetime import datetime

from outcomes.contract.schema import Contract


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def floor_sql(c: Contract, interactions: str, events: str, start: datetime, end: datetime) -> str:
    wf = (
        "CASE "
        + " ".join(
            f"WHEN queue IN ({', '.join(_lit(q) for q in w.queues)}) THEN {_lit(n)}"
            for n, w in c.workflows.items()
            if w.queues
        )
        + f" ELSE {_lit(c.default_workflow()) if c.default_workflow() else 'NULL'} END"
    )
    prov = (
        "TRUE"
        if c.billable_providers is None
        else (f"coalesce(provider,'') IN ({', '.join(_lit(p) for p in c.billable_providers)})")
    )
    ts = lambda d: f"TIMESTAMP '{d:%Y-%m-%d %H:%M:%S}'"  # noqa: E731
    horizon = max((o.repeat_contact.within for o in c.outcomes.values() if o.repeat_contact), default=0)
    parts = []
    leads = []
    for name, o in c.outcomes.items():
        if o.repeat_contact:
            keys = "customer_id" + (", workflow" if "workflow" in o.repeat_contact.same else "")
            leads.append(
                f"LEAD(opened_at) OVER (PARTITION BY source = {_lit(c.system_of_record)} AND customer_id IS NOT NULL, "
                f"{keys} ORDER BY opened_at, closed_at NULLS LAST, interaction_id) AS next_{name}"
            )
    for name, o in c.outcomes.items():
        cand = {
            "containment": "coalesce(handled_by,'') = 'bot'",
            "save": "coalesce(intent,'') = 'cancel'",
        }.get(o.kind, "TRUE")
        checks = [
            f"WHEN source <> {_lit(c.system_of_record)} THEN 'wrong_source'",
            f"WHEN NOT ({prov}) THEN 'other_provider'",
            "WHEN workflow IS NULL THEN 'no_workflow'",
            f"WHEN coalesce(handled_by,'') NOT IN ({', '.join(_lit(h) for h in o.handlers())}) THEN 'not_handled_by'",
            "WHEN coalesce(status,'') <> 'resolved' THEN 'not_resolved'",
        ]
        if o.reopened == "exclude":
            checks.append("WHEN coalesce(reopened,false) THEN 'reopened'")
        if o.min_csat:
            checks.append(f"WHEN csat IS NOT NULL AND csat < {o.min_csat} THEN 'low_csat'")
        if o.repeat_contact or o.kind == "save":
            checks.append("WHEN customer_id IS NULL THEN 'unverifiable_customer'")
        if o.repeat_contact:
            checks.append(
                f"WHEN next_{name} <= closed_at + INTERVAL ({o.repeat_contact.within}) SECOND THEN 'repeat_contact'"
            )
        reason = "CASE " + " ".join(checks) + " END"
        if o.kind == "save":
            parts.append(f"""
            SELECT '{name}' AS outcome, workflow, CASE WHEN reason IS NOT NULL THEN reason
                WHEN churned THEN 'churned'
                WHEN row_number() OVER (PARTITION BY customer_id, reason IS NULL AND NOT churned
                                        ORDER BY closed_at DESC, opened_at DESC, interaction_id DESC) > 1
                THEN 'duplicate_save' ELSE 'counted' END AS fate
            FROM (
                SELECT x.*, {reason} AS reason,
                    EXISTS (SELECT 1 FROM ev WHERE ev.customer_id = x.customer_id AND ev.event = 'churned'
                            AND ev."at" > x.closed_at
                            AND ev."at" <= x.closed_at + INTERVAL ({o.retained_for}) SECOND) AS churned
                FROM seq x WHERE in_period AND {cand}
            )""")
        else:
            parts.append(
                f"SELECT '{name}' AS outcome, workflow, coalesce({reason}, 'counted') AS fate "
                f"FROM seq WHERE in_period AND {cand}"
            )
    lead_sql = (", " + ", ".join(leads)) if leads else ""
    return f"""
    WITH f AS (
        SELECT interaction_id, source, customer_id, queue, opened_at, closed_at, status, handled_by, provider,
               reopened, csat, intent, {wf} AS workflow
        FROM read_parquet('{interactions}')
        WHERE opened_at <= {ts(end)}::TIMESTAMPTZ + INTERVAL ({horizon}) SECOND
    ),
    ev AS (SELECT customer_id, event, "at" FROM read_parquet('{events}') WHERE event = 'churned'),
    seq AS (
        SELECT *, closed_at >= {ts(start)}::TIMESTAMPTZ AND closed_at < {ts(end)}::TIMESTAMPTZ AS in_period
               {lead_sql}
        FROM f
    )
    SELECT outcome, workflow, fate, count(*) AS n FROM (
        {" UNION ALL ".join(parts)}
    ) GROUP BY ALL ORDER BY ALL
    """
