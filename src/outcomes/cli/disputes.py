"""`outcomes dispute ...`: dispute a settlement line and take the dispute through its lifecycle.

open -> answered -> accepted | rejected (accept or reject also straight from open); an accepted dispute is
billed as an adjustment by the next settlement, which marks it adjusted. See docs/ledger.md.
Registered in cli.py with `app.add_typer(dispute_app, name="dispute")`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, open_workspace, out, print_json, require_contract

if TYPE_CHECKING:
    from outcomes.ledger.disputes import DisputeView

dispute_app = typer.Typer(
    help="Dispute settlement lines: open, answer, accept, reject, list, show.\n\nEither party disputes a line of a "
    "settlement; the other party answers, accepts or rejects the dispute; an accepted dispute is adjusted in "
    "the next settlement of the contract.",
    no_args_is_help=True,
)


class Party(StrEnum):
    buyer = "buyer"
    provider = "provider"


class State(StrEnum):
    open = "open"
    answered = "answered"
    accepted = "accepted"
    rejected = "rejected"
    adjusted = "adjusted"


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (else $OUTCOMES_WORKSPACE, else the current one)."
    ),
]
_DONE = {"open": "opened", "answer": "answered", "accept": "accepted", "reject": "rejected"}
DisputeArg = Annotated[int, typer.Argument(help="Dispute number (see `outcomes dispute list`).")]


def _what(d: DisputeView) -> str:
    return f"{d.contract}/{d.period} line {d.line_seq} ({d.line_label}, {d.line_amount} {d.currency})"


def _claim(d: DisputeView) -> str:
    if d.amount_claimed is None:
        return "no amount claimed"
    direction = "back to the buyer" if d.opened_by == "buyer" else "on top, to the provider"
    return f"{d.amount_claimed} {d.currency} claimed {direction}"


@dispute_app.command("open")
def dispute_open(
    settlement: Annotated[str, typer.Argument(help="Settlement number or CONTRACT/PERIOD.")],
    line: Annotated[int, typer.Argument(help="Line number in the settlement (see `outcomes show`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the line is wrong.")],
    party: Annotated[Party, typer.Option("--party", help="Who disputes: buyer or provider.")],
    ids: Annotated[
        str | None, typer.Option("--ids", help="Interaction ids concerned, comma-separated: a,b,c.")
    ] = None,
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount",
            help="Amount claimed, a positive decimal in the settlement's currency (e.g. 12.50): the buyer "
            "claims it back, the provider on top.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Dispute a settlement line; the other party then answers, accepts or rejects it."""
    with open_workspace(workspace) as ws:
        d = ws.ledger().open_dispute(
            settlement, line, party=party.value, reason=reason, interaction_ids=ids, amount=amount
        )
        out.print(
            f"dispute {d.id} opened by the {d.opened_by} on {_what(d)}: {_claim(d)}"
            + (f", {len(d.interaction_ids)} interaction id(s)" if d.interaction_ids else "")
            + f". The {d.against} answers, accepts or rejects it.",
            markup=False,
        )


@dispute_app.command("answer")
def dispute_answer(
    dispute: DisputeArg,
    note: Annotated[str, typer.Option("--note", help="The answer.")],
    party: Annotated[
        Party, typer.Option("--party", help="Who answers: the party the dispute is raised against.")
    ],
    workspace: WorkspaceOpt = None,
) -> None:
    """Answer an open dispute, as the party it is raised against; it is then accepted or rejected."""
    with open_workspace(workspace) as ws:
        d = ws.ledger().answer_dispute(dispute, party=party.value, note=note)
        out.print(f"dispute {d.id} answered by the {party.value}; now accept or reject it", markup=False)


@dispute_app.command("accept")
def dispute_accept(
    dispute: DisputeArg,
    note: Annotated[str | None, typer.Option("--note", help="Optional note.")] = None,
    party: Annotated[
        Party | None,
        typer.Option(
            "--party", help="Who accepts: only the party the dispute is raised against (the default)."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Accept a dispute (open or answered); the next settlement of the contract adjusts it."""
    with open_workspace(workspace) as ws:
        d = ws.ledger().accept_dispute(dispute, note=note, party=party.value if party else None)
        out.print(
            f"dispute {d.id} accepted by the {d.against} ({_claim(d)}); the next settlement of {d.contract} "
            "adjusts it",
            markup=False,
        )


@dispute_app.command("reject")
def dispute_reject(
    dispute: DisputeArg,
    note: Annotated[str, typer.Option("--note", help="Why the dispute is rejected.")],
    party: Annotated[
        Party | None,
        typer.Option(
            "--party", help="Who rejects: only the party the dispute is raised against (the default)."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Reject a dispute (open or answered), saying why; it is closed and nothing is adjusted."""
    with open_workspace(workspace) as ws:
        d = ws.ledger().reject_dispute(dispute, note=note, party=party.value if party else None)
        out.print(f"dispute {d.id} rejected by the {d.against}; it is closed", markup=False)


@dispute_app.command("list")
def dispute_list(
    contract: Annotated[str | None, typer.Option("--contract", help="Only this contract.")] = None,
    state: Annotated[State | None, typer.Option("--state", help="Only disputes in this state.")] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List disputes, oldest first, with their line, claim and state."""
    with open_workspace(workspace) as ws:
        require_contract(ws.ledger(), contract)
        rows = ws.ledger().disputes(contract, state.value if state else None)
        if as_json:
            print_json([d.as_dict() for d in rows])
            return
        t = Table("#", "settlement", "line", "opened by", "state", "claimed", "ids", "reason")
        for d in rows:
            t.add_row(
                str(d.id),
                f"{d.settlement_id} {d.contract}/{d.period}",
                f"{d.line_seq} {d.line_label}",
                d.opened_by,
                d.state + (f" in {d.adjusted_in}" if d.adjusted_in else ""),
                f"{d.amount_claimed} {d.currency}" if d.amount_claimed else "",
                str(len(d.interaction_ids)) if d.interaction_ids else "",
                d.reason,
            )
        out.print(t)


@dispute_app.command("show")
def dispute_show(dispute: DisputeArg, as_json: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """Show one dispute with its history of events."""
    with open_workspace(workspace) as ws:
        d = ws.ledger().dispute(dispute)
        if as_json:
            print_json(d.as_dict())
            return
        out.print(f"dispute {d.id}: {d.state}", markup=False)
        out.print(f"  line:    settlement {d.settlement_id}, {_what(d)}", markup=False)
        out.print(
            f"  opened:  by the {d.opened_by}, against the {d.against}, {d.opened_at[:19]}", markup=False
        )
        out.print(f"  reason:  {d.reason}", markup=False)
        out.print(f"  claim:   {_claim(d)}", markup=False)
        if d.interaction_ids:
            out.print(f"  ids:     {', '.join(d.interaction_ids)}", markup=False)
        for e in d.events:
            who = f" by the {e.party}" if e.party else ""
            done = _DONE.get(e.action, e.action)
            out.print(f"  {e.seq}. {e.at[:19]} {done}{who}" + (f": {e.note}" if e.note else ""), markup=False)


app = typer.Typer()
app.add_typer(dispute_app, name="dispute")
