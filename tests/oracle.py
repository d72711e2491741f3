"""An independent oracle: the fates of resolution and containment candidates, written by hand in SQL.

It shares no code with `outcomes.metrics`: repeats are found with a correlated EXISTS over the raw rows
(quadratic per customer, fine for test data) rather than a window function, and reasons by a CASE written
from CONTRACT.md directly.
"""

from __future__ import annotations

from datetime import datetime


def oracle_sql(
    *,
    table: str,
    outcome_kind: str,
    sor: str,
    providers: list[str] | None,
    queue_map: dict[str, list[str]],
    default_workflow: str | None,
    start: datetime,
    end: datetime,
    within_seconds: int,
    same_workflow: bool,
    min_csat: int | None,
    handlers: list[str],
) -> str:
    def lit(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    wf_case = (
        "CASE "
        + " ".join(
            f"WHEN queue IN ({', '.join(lit(q) for q in qs)}) THEN {lit(w)}"
            for w, qs in queue_map.items()
            if qs
        )
        + f" ELSE {lit(default_workflow) if default_workflow else 'NULL'} END"
    )
    prov = (
        "TRUE" if providers is None else f"coalesce(provider, '') IN ({', '.join(lit(p) for p in providers)})"
    )
    kind_filter = "coalesce(handled_by, '') = 'bot'" if outcome_kind == "containment" else "TRUE"
    csat = f"WHEN c.csat IS NOT NULL AND c.csat < {min_csat} THEN 'low_csat'" if min_csat else ""
    same_wf = "AND r.workflow IS NOT DISTINCT FROM c.workflow" if same_workflow else ""
    return f"""
    WITH f AS (SELECT *, {wf_case} AS workflow FROM {table}),
    cand AS (
        SELECT * FROM f
        WHERE closed_at >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' AND closed_at < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'
          AND {kind_filter}
    ),
    fate AS (
        SELECT c.interaction_id, c.workflow,
            CASE
                WHEN c.source <> {lit(sor)} THEN 'wrong_source'
                WHEN NOT ({prov.replace("provider", "c.provider")}) THEN 'other_provider'
                WHEN c.workflow IS NULL THEN 'no_workflow'
                WHEN coalesce(c.handled_by, '') NOT IN ({", ".join(lit(h) for h in handlers)}) THEN 'not_handled_by'
                WHEN coalesce(c.status, '') <> 'resolved' THEN 'not_resolved'
                WHEN coalesce(c.reopened, false) THEN 'reopened'
                {csat}
                WHEN c.customer_id IS NULL THEN 'unverifiable_customer'
                WHEN EXISTS (
                    SELECT 1 FROM f r
                    WHERE r.source = {lit(sor)} AND r.customer_id = c.customer_id {same_wf}
                      AND r.opened_at <= c.closed_at + INTERVAL ({within_seconds}) SECOND
                      AND (r.opened_at > c.opened_at
                           OR (r.opened_at = c.opened_at AND c.closed_at IS NOT NULL AND r.closed_at IS NULL)
                           OR (r.opened_at = c.opened_at AND r.closed_at > c.closed_at)
                           OR (r.opened_at = c.opened_at AND r.closed_at = c.closed_at
                               AND r.interaction_id > c.interaction_id))
                ) THEN 'repeat_contact'
            END AS reason
        FROM cand c
    )
    SELECT workflow, coalesce(reason, 'counted') AS fate, count(*) AS n
    FROM fate GROUP BY ALL ORDER BY ALL
    """
