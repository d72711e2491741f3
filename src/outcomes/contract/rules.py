"""Cross-field rules of the contract language: one small function per check.

Each rule takes the validated `Contract` and a `Locator` and returns the issues it found, placed on the line
of the key they are about. `check` runs them all; nothing stops at the first problem. The rules and their
codes are documented in docs/contract.md ("Validation rules").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

from .currency import minor_unit
from .issues import Issue, Locator
from .metrics import (
    CATALOGUE,
    CONTRACT_METRICS,
)
from .names import id_problem
from .schema import Contract, Outcome, OutcomeFee, VolumeFee, decimal_places

Rule = Callable[[Contract, Locator], list[Issue]]

# Derived from the metric catalogue (contract/metrics.py): the names a contract may use, their ranges, the
# outcome kind each one needs, and the one that is circular.
METRIC_RANGES: dict[str, tuple[Decimal | None, Decimal | None]] = {
    n: (CATALOGUE[n].low, CATALOGUE[n].high) for n in CONTRACT_METRICS
}
METRIC_NAMES: frozenset[str] = frozenset(CONTRACT_METRICS)
METRIC_OUTCOME_KIND: dict[str, str] = {
    n: CATALOGUE[n].outcome_kind for n in CONTRACT_METRICS if CATALOGUE[n].outcome_kind is not None
}
CIRCULAR_METRICS = frozenset(n for n in CONTRACT_METRICS if CATALOGUE[n].circular)


FEES = ("pricing", "outcome_fees")
VOLUME_FEES = ("pricing", "volume_fees")
SEATS = ("pricing", "seats")
MEASURES = ("service_levels", "measures")


def _suggest(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}? " if match else ""


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _is_period_start(day: date, period: str) -> bool:
    return day.day == 1 and (period == "month" or day.month in (1, 4, 7, 10))


def _period_word(period: str) -> str:
    return "month" if period == "month" else "calendar quarter"


def _has_kind(contract: Contract, kind: str) -> bool:
    return any(o.kind == kind for o in contract.outcomes.values())


def _priced_entries(contract: Contract) -> list[tuple[tuple[str | int, ...], OutcomeFee | VolumeFee]]:
    """Every fee line priced by `unit` or `tiers` + `prices`, with its path: outcome fees, then volume fees."""
    return [((*FEES, i), fee) for i, fee in enumerate(contract.pricing.outcome_fees)] + [
        ((*VOLUME_FEES, i), fee) for i, fee in enumerate(contract.pricing.volume_fees)
    ]


def _fee_path(locate: Locator, i: int) -> tuple[str | int, ...]:
    """The `workflows` key of fee line i when written, else the line itself."""
    path = (*FEES, i, "workflows")
    return path if locate.has(path) else (*FEES, i)


# ----------------------------------------------------------------------------------- lists and sections


def empty_sections(contract: Contract, locate: Locator) -> list[Issue]:
    found = []
    if not contract.workflows:
        found.append(
            locate.issue(
                "empty",
                ("workflows",),
                "`workflows` is empty: every contact would be excluded as no_workflow",
                "define at least one workflow, e.g. `general: {default: true}`",
            )
        )
    if not contract.outcomes:
        found.append(
            locate.issue(
                "empty",
                ("outcomes",),
                "`outcomes` is empty: nothing can be counted",
                "define at least one outcome, e.g. `resolution: {kind: resolution, ...}`",
            )
        )
    if contract.billable_providers == []:
        found.append(
            locate.issue(
                "empty",
                ("billable_providers",),
                "`billable_providers` is an empty list: no contact would be billable",
                "list the billed `provider` values, or leave the key out to bill every provider",
            )
        )
    for name, outcome in contract.outcomes.items():
        if outcome.handled_by == []:
            found.append(
                locate.issue(
                    "empty",
                    ("outcomes", name, "handled_by"),
                    f"outcome {name!r} has an empty `handled_by`: no contact can count",
                    "write [agent], [bot] or [agent, bot], or leave the key out for the default",
                )
            )
    for at, fee in _priced_entries(contract):
        if fee.workflows == []:
            found.append(
                locate.issue(
                    "empty",
                    (*at, "workflows"),
                    "an empty `workflows` list: this fee line counts nothing",
                    "name its workflows, or leave the key out to cover every workflow",
                )
            )
        if fee.prices == []:
            found.append(
                locate.issue(
                    "empty",
                    (*at, "prices"),
                    "`prices` is an empty list",
                    'write at least one tier, e.g. [{unit: "5.00"}]',
                )
            )
    sl = contract.service_levels
    if sl is not None:
        if not sl.measures:
            found.append(
                locate.issue(
                    "empty",
                    (*MEASURES,),
                    "`service_levels.measures` is empty",
                    "add a measure, or remove `service_levels`",
                )
            )
        for i, m in enumerate(sl.measures):
            if m.workflows == []:
                found.append(
                    locate.issue(
                        "empty",
                        (*MEASURES, i, "workflows"),
                        "an empty `workflows` list: this measure would have no data",
                        "name its workflows, or leave the key out to measure all workflows",
                    )
                )
    return found


def duplicate_entries(contract: Contract, locate: Locator) -> list[Issue]:
    lists: list[tuple[tuple[str | int, ...], list[str] | None]] = [
        (("billable_providers",), contract.billable_providers)
    ]
    lists += [(("workflows", n, "queues"), wf.queues) for n, wf in contract.workflows.items()]
    lists += [(("outcomes", n, "handled_by"), list(o.handled_by or [])) for n, o in contract.outcomes.items()]
    lists += [((*FEES, i, "workflows"), f.workflows) for i, f in enumerate(contract.pricing.outcome_fees)]
    if contract.service_levels is not None:
        lists += [
            ((*MEASURES, i, "workflows"), m.workflows) for i, m in enumerate(contract.service_levels.measures)
        ]
    found = []
    for path, items in lists:
        seen: set[str] = set()
        for j, item in enumerate(items or []):
            if item in seen:
                found.append(
                    locate.issue(
                        "duplicate_entry",
                        (*path, j),
                        f"{item!r} is listed twice",
                        "remove the second entry",
                        level="warning",
                    )
                )
            seen.add(item)
    return found


# --------------------------------------------------------------------------------------------- workflows


def overlapping_queues(contract: Contract, locate: Locator) -> list[Issue]:
    owner: dict[str, tuple[str, int]] = {}
    found = []
    for name, wf in contract.workflows.items():
        for j, queue in enumerate(wf.queues):
            first = owner.get(queue)
            if first is not None and first[0] != name:
                line = locate(("workflows", first[0], "queues", first[1]))
                found.append(
                    locate.issue(
                        "overlapping_queues",
                        ("workflows", name, "queues", j),
                        f"queue {queue!r} is in the queue lists of workflows {first[0]!r} (line {line}) "
                        f"and {name!r}",
                        "a contact's workflow comes from its queue: list each queue in one workflow only",
                    )
                )
            else:
                owner.setdefault(queue, (name, j))
    return found


def multiple_defaults(contract: Contract, locate: Locator) -> list[Issue]:
    defaults = [name for name, wf in contract.workflows.items() if wf.default]
    return [
        locate.issue(
            "multiple_defaults",
            ("workflows", name, "default"),
            f"workflows {defaults[0]!r} and {name!r} are both `default: true`",
            "mark one workflow as the default: it takes the contacts whose queue no workflow lists",
        )
        for name in defaults[1:]
    ]


def unreachable_workflows(contract: Contract, locate: Locator) -> list[Issue]:
    return [
        locate.issue(
            "empty_workflow",
            ("workflows", name),
            f"workflow {name!r} has no queues and is not the default: no contact can be in it",
            "list its queues, e.g. `{queues: [refunds]}`, or make it the default",
            level="warning",
        )
        for name, wf in contract.workflows.items()
        if not wf.queues and not wf.default
    ]


# ---------------------------------------------------------------------------------------------- outcomes


def containment_is_bot_only(contract: Contract, locate: Locator) -> list[Issue]:
    return [
        locate.issue(
            "containment_not_bot",
            ("outcomes", name, "handled_by"),
            f"outcome {name!r} is a containment, which only a bot can earn, but `handled_by` is "
            f"{list(o.handled_by)}",
            "remove `handled_by` (containment is always [bot]), or use "
            "kind: resolution for contacts an agent handles",
        )
        for name, o in contract.outcomes.items()
        if o.kind == "containment" and o.handled_by and set(o.handled_by) != {"bot"}
    ]


def retained_for_on_saves(contract: Contract, locate: Locator) -> list[Issue]:
    found = []
    for name, o in contract.outcomes.items():
        if o.kind == "save" and o.retained_for is None:
            found.append(
                locate.issue(
                    "missing_key",
                    ("outcomes", name, "retained_for"),
                    f"save outcome {name!r} needs `retained_for`",
                    "add e.g. `retained_for: 90d`: how long the customer must stay active",
                )
            )
        elif o.kind != "save" and o.retained_for is not None:
            found.append(
                locate.issue(
                    "misplaced_key",
                    ("outcomes", name, "retained_for"),
                    f"`retained_for` applies to save outcomes only, and {name!r} is a {o.kind}",
                    "remove `retained_for`, or use `repeat_contact` to check that it stays solved",
                )
            )
    return found


# ------------------------------------------------------------------------------------------------ pricing


def pricing_has_fees(contract: Contract, locate: Locator) -> list[Issue]:
    p = contract.pricing
    if p.base_fee is None and not p.outcome_fees and not p.volume_fees and p.seats is None:
        return [
            locate.issue(
                "missing_key",
                ("pricing",),
                "`pricing` needs `base_fee`, `outcome_fees`, `volume_fees` or `seats`",
                'add `base_fee: "25000.00"` or at least one outcome fee line',
            )
        ]
    return []


def fee_outcomes_known(contract: Contract, locate: Locator) -> list[Issue]:
    return [
        locate.issue(
            "unknown_outcome",
            (*FEES, i, "outcome"),
            f"outcome {fee.outcome!r} is not defined under `outcomes`",
            _suggest(fee.outcome, contract.outcomes) + f"defined outcomes: {_names(contract.outcomes)}",
        )
        for i, fee in enumerate(contract.pricing.outcome_fees)
        if fee.outcome not in contract.outcomes
    ]


def fee_workflows_known(contract: Contract, locate: Locator) -> list[Issue]:
    return [
        locate.issue(
            "unknown_workflow",
            (*FEES, i, "workflows", j),
            f"workflow {wf!r} is not defined",
            _suggest(wf, contract.workflows) + f"defined workflows: {_names(contract.workflows)}",
        )
        for i, fee in enumerate(contract.pricing.outcome_fees)
        for j, wf in enumerate(fee.workflows or [])
        if wf not in contract.workflows
    ] + [
        locate.issue(
            "unknown_workflow",
            (*VOLUME_FEES, i, "workflows", j),
            f"workflow {wf!r} is not defined",
            _suggest(wf, contract.workflows) + f"defined workflows: {_names(contract.workflows)}",
        )
        for i, vfee in enumerate(contract.pricing.volume_fees)
        for j, wf in enumerate(vfee.workflows or [])
        if wf not in contract.workflows
    ]


def fee_price_shape(contract: Contract, locate: Locator) -> list[Issue]:
    found = []
    for at, fee in _priced_entries(contract):
        if fee.unit is not None and fee.prices is not None:
            found.append(
                locate.issue(
                    "unit_and_prices",
                    (*at, "prices"),
                    "a fee line has both `unit` and `prices`",
                    "keep `unit` for one price, or `tiers` + `prices` for tiers",
                )
            )
        elif fee.unit is None and fee.prices is None and fee.package is None:
            found.append(
                locate.issue(
                    "missing_price",
                    at,
                    f"the fee line for {fee.outcome!r} has no price",
                    'add `unit: "4.00"`, `tiers: graduated` with `prices: [...]`, '
                    'or `package: {size: 10, price: "100.00"}`',
                )
            )
        if fee.package is not None and (fee.unit is not None or fee.prices is not None):
            found.append(
                locate.issue(
                    "package_and_price",
                    (*at, "package"),
                    "a fee line has `package` and also `unit` or `prices`",
                    "keep `package` for packages of units, or `unit` / `tiers` + `prices` for unit prices",
                )
            )
        elif fee.tiers is not None and fee.prices is None:
            found.append(
                locate.issue(
                    "tiers_without_prices",
                    (*at, "tiers"),
                    "`tiers` without `prices`",
                    "remove `tiers` (one `unit` price needs none), or replace `unit` with "
                    "`prices: [{up_to: ..., unit: ...}, {unit: ...}]`",
                )
            )
        if fee.prices is not None and fee.tiers is None:
            found.append(
                locate.issue(
                    "prices_without_tiers",
                    (*at, "prices"),
                    "`prices` without `tiers`: graduated or volume pricing must be chosen",
                    "add `tiers: graduated` "
                    "(each unit at its tier's price) or `tiers: volume` (all units at the "
                    "price of the tier the count reaches)",
                )
            )
    return found


def tiers_sorted(contract: Contract, locate: Locator) -> list[Issue]:
    found = []
    for line, fee in _priced_entries(contract):
        prices = fee.prices or []
        previous: int | None = None
        open_at: int | None = None
        for j, tier in enumerate(prices):
            at = (*line, "prices", j)
            if open_at is not None:
                found.append(
                    locate.issue(
                        "tier_after_open",
                        at,
                        f"tier {j} follows the open-ended tier {open_at}"
                        " (no `up_to`), so no count can reach it",
                        "give every tier but the last an `up_to`, in increasing order",
                    )
                )
                continue
            if tier.up_to is None:
                open_at = j
                continue
            if previous is not None and tier.up_to <= previous:
                found.append(
                    locate.issue(
                        "unsorted_tiers",
                        (*at, "up_to"),
                        f"`up_to: {tier.up_to}` is not above the previous tier's `up_to: {previous}`",
                        "tiers must strictly increase in `up_to` (which is inclusive)",
                    )
                )
            previous = tier.up_to if previous is None else max(previous, tier.up_to)
        if prices and prices[-1].up_to is not None:
            at = (*line, "prices", len(prices) - 1, "up_to")
            found.append(
                locate.issue(
                    "last_tier_bounded",
                    at,
                    f"the last tier stops at {prices[-1].up_to}: counts above it would have no price",
                    "remove `up_to` from the last "
                    'tier, or add an open-ended tier after it, e.g. {unit: "5.00"}',
                )
            )
    return found


def fee_outcomes_verifiable(contract: Contract, locate: Locator) -> list[Issue]:
    found = []
    for i, fee in enumerate(contract.pricing.outcome_fees):
        o = contract.outcomes.get(fee.outcome)
        if o is not None and o.kind in ("resolution", "containment") and o.repeat_contact is None:
            found.append(
                locate.issue(
                    "unverifiable_outcome",
                    (*FEES, i, "outcome"),
                    f"a fee is paid for {fee.outcome!r}, but that {o.kind} has no `repeat_contact`: "
                    "whether it stayed solved cannot be checked",
                    f"add to outcome {fee.outcome!r} e.g. "
                    "`repeat_contact: {within: 7d, same: [customer], channels: any}`",
                    # CONTRACT.md makes repeat_contact optional: the parties may agree to pay for closures.
                    level="warning",
                )
            )
    return found


def _overlap_hint(a: tuple[str, Outcome], b: tuple[str, Outcome]) -> str:
    (na, oa), (nb, ob) = a, b
    if na == nb:
        return (
            "give each workflow to one fee line of this outcome only (a line without `workflows` covers "
            "every workflow)"
        )
    kinds = {oa.kind, ob.kind}
    if kinds == {"resolution", "containment"}:
        res = na if oa.kind == "resolution" else nb
        return (
            f"set `handled_by: [agent]` on outcome {res!r} so bot-only contacts are paid as containment "
            "only, or price the two outcomes in different workflows"
        )
    if "save" in kinds:
        return (
            "a cancel-intent contact can be both a save and a resolved or contained contact: price the save "
            "in workflows the other line does not cover, or make the handlers disjoint with `handled_by`"
        )
    return "price the two outcomes in different workflows, or make their `handled_by` disjoint"


def double_count(contract: Contract, locate: Locator) -> list[Issue]:
    """A contact earns at most one outcome fee (CONTRACT.md).

    Two fee lines can count one contact when their workflows overlap and their outcomes' handlers overlap:
    the candidate sets of resolution (every closed contact), containment (bot-handled contacts) and save
    (contacts with intent cancel) all include each other's contacts except as separated by `handled_by`, and
    no other condition (status, reopened, CSAT, repeat contact) keeps one contact out of both.
    """
    lines: list[tuple[int, OutcomeFee, str, Outcome, set[str], set[str]]] = []
    for i, fee in enumerate(contract.pricing.outcome_fees):
        o = contract.outcomes.get(fee.outcome)
        if o is not None:
            lines.append((i, fee, fee.outcome, o, set(contract.fee_workflows(fee)), set(o.handlers())))
    found = []
    for b, (j, _fee_b, name_b, out_b, wf_b, h_b) in enumerate(lines):
        for i, _fee_a, name_a, out_a, wf_a, h_a in lines[:b]:
            shared_wf, shared_h = wf_a & wf_b, h_a & h_b
            if not shared_wf or not shared_h:
                continue
            wfs = ("workflows " if len(shared_wf) > 1 else "workflow ") + ", ".join(sorted(shared_wf))
            line_a = locate((*FEES, i))
            if name_a == name_b:
                message = (
                    f"fee lines {i} (line {line_a}) and {j} both pay outcome {name_a!r} in "
                    f"{wfs}: one contact would be paid twice"
                )
            else:
                message = (
                    f"one contact could count for fee line {i} ({name_a!r}, line {line_a}) and fee line "
                    f"{j} ({name_b!r}): both cover {wfs} and contacts handled by "
                    f"{', '.join(sorted(shared_h))}"
                )
            found.append(
                locate.issue(
                    "double_count",
                    _fee_path(locate, j),
                    message,
                    _overlap_hint((name_a, out_a), (name_b, out_b)),
                )
            )
    return found


def amounts_not_negative(contract: Contract, locate: Locator) -> list[Issue]:
    p = contract.pricing
    amounts: list[tuple[tuple[str | int, ...], Decimal | None]] = [
        (("pricing", "base_fee"), p.base_fee),
        (("pricing", "minimum"), p.minimum),
        (("pricing", "maximum"), p.maximum),
    ]
    for at, fee in _priced_entries(contract):
        amounts.append(((*at, "unit"), fee.unit))
        amounts += [((*at, "prices", j, "unit"), t.unit) for j, t in enumerate(fee.prices or [])]
        amounts += [((*at, "prices", j, "flat"), t.flat) for j, t in enumerate(fee.prices or [])]
        package = getattr(fee, "package", None)
        if package is not None:
            amounts.append(((*at, "package", "price"), package.price))
    if p.seats is not None:
        amounts.append(((*SEATS, "rate"), p.seats.rate))
    if p.value_share is not None:
        amounts.append((("pricing", "value_share", "baseline"), p.value_share.baseline))
    if contract.automation is not None:
        amounts.append((("automation", "human_contact_cost"), contract.automation.human_contact_cost))
    return [
        locate.issue(
            "negative_amount",
            path,
            f"amount {value} is below zero",
            "write amounts as zero or more; credits come from service levels and adjustments",
        )
        for path, value in amounts
        if isinstance(value, Decimal) and value < 0  # (a value the models refused is not a Decimal)
    ]


#: A unit price may be finer than the currency's minor unit (a line is rounded once, after multiplying by its
#: count), by at most this many places; a fixed amount is billed as written, so it has at most the minor unit.
UNIT_PRICE_EXTRA_PLACES = 4


def money_fits_currency(contract: Contract, locate: Locator) -> list[Issue]:
    places = minor_unit(contract.currency)
    if places is None:  # not a currency: the models said so
        return []
    p = contract.pricing
    fixed: list[tuple[tuple[str | int, ...], Decimal | None]] = [
        (("pricing", "base_fee"), p.base_fee),
        (("pricing", "minimum"), p.minimum),
        (("pricing", "maximum"), p.maximum),
    ]
    if p.value_share is not None:
        fixed.append((("pricing", "value_share", "baseline"), p.value_share.baseline))
    if contract.automation is not None:
        fixed.append((("automation", "human_contact_cost"), contract.automation.human_contact_cost))
    if p.seats is not None:
        fixed.append(((*SEATS, "rate"), p.seats.rate))
    units: list[tuple[tuple[str | int, ...], Decimal | None]] = []
    for at, fee in _priced_entries(contract):
        units.append(((*at, "unit"), fee.unit))
        units += [((*at, "prices", j, "unit"), t.unit) for j, t in enumerate(fee.prices or [])]
        # a tier's flat fee and a package's price are billed as written: fixed amounts
        fixed += [((*at, "prices", j, "flat"), t.flat) for j, t in enumerate(fee.prices or [])]
        package = getattr(fee, "package", None)
        if package is not None:
            fixed.append(((*at, "package", "price"), package.price))
    found = []
    unit_places = places + UNIT_PRICE_EXTRA_PLACES
    for group, limit, what in ((fixed, places, "an amount"), (units, unit_places, "a unit price")):
        for path, value in group:
            if isinstance(value, Decimal) and decimal_places(value) > limit:
                found.append(
                    locate.issue(
                        "too_precise",
                        path,
                        f"{what} of {value} {contract.currency} has {decimal_places(value)} decimal places; "
                        f"{contract.currency} {what} has at most {limit}",
                        f"{contract.currency}'s minor unit has {places} decimal places (ISO 4217)"
                        + (
                            f"; a unit price may have {UNIT_PRICE_EXTRA_PLACES} more, since a line is rounded "
                            "once after multiplying"
                            if limit == unit_places
                            else ""
                        ),
                    )
                )
    return found


def ids_are_safe(contract: Contract, locate: Locator) -> list[Issue]:
    """The contract id and the names of workflows and outcomes become parts of paths, URLs and file names."""
    named: list[tuple[tuple[str | int, ...], str]] = [(("contract",), contract.contract)]
    named += [(("workflows", name), name) for name in contract.workflows]
    named += [(("outcomes", name), name) for name in contract.outcomes]
    found = []
    for path, value in named:
        problem = id_problem(value)
        if problem is not None:
            found.append(
                locate.issue(
                    "bad_id",
                    path,
                    problem,
                    "ids are ASCII letters, digits, '.', '-' and '_', not starting with a dot, e.g. acme-northwind",
                )
            )
    return found


def minimum_not_above_maximum(contract: Contract, locate: Locator) -> list[Issue]:
    p = contract.pricing
    if p.minimum is not None and p.maximum is not None and p.minimum > p.maximum:
        return [
            locate.issue(
                "min_above_max",
                ("pricing", "minimum"),
                f"`minimum` {p.minimum} is above "
                f"`maximum` {p.maximum} (line {locate(('pricing', 'maximum'))})",
                "the floor must not exceed the cap: swap or correct them",
            )
        ]
    return []


def value_share_rules(contract: Contract, locate: Locator) -> list[Issue]:
    vs = contract.pricing.value_share
    if vs is None:
        return []
    at = ("pricing", "value_share")
    found = []
    if vs.window is not None and vs.metric != "revenue_influenced":
        found.append(
            locate.issue(
                "misplaced_key",
                (*at, "window"),
                f"`window` applies to revenue_influenced only, not {vs.metric}",
                "remove `window`",
            )
        )
    if not Decimal(0) <= vs.share <= Decimal(1):
        found.append(
            locate.issue(
                "out_of_range",
                (*at, "share"),
                f"`share` {vs.share} is outside 0..1",
                'write the share as a fraction, e.g. "0.10" for 10%',
            )
        )
    kind = METRIC_OUTCOME_KIND.get(vs.metric)
    if kind and not _has_kind(contract, kind):
        found.append(
            locate.issue(
                "missing_outcome",
                (*at, "metric"),
                f"{vs.metric} needs a {kind} outcome, and none is defined",
                f"define an outcome with `kind: {kind}`",
            )
        )
    return found


LIFT = ("pricing", "value_share", "require_significant_lift")


def lift_requirement_rules(contract: Contract, locate: Locator) -> list[Issue]:
    """`require_significant_lift`: a comparison to make, segments that select something, a known baseline
    period, the outcome its metric needs, a confidence strictly between 0 and 1 (docs/uplift.md)."""
    vs = contract.pricing.value_share
    req = vs.require_significant_lift if vs is not None else None
    if req is None:
        return []
    found = []
    if req.control is None and req.baseline is None:
        found.append(
            locate.issue(
                "no_comparison",
                LIFT,
                "a lift needs something to compare the pilot with: neither `control` nor `baseline` is given",
                "add `control: {queue: [...]}` (a control group), `baseline: YYYY-MM` (a period before the "
                "pilot), or both (difference-in-differences)",
            )
        )
    segments = [("pilot", req.pilot)] + ([("control", req.control)] if req.control is not None else [])
    for name, seg in segments:
        keys = {k: v for k, v in seg.model_dump().items() if v is not None}
        if not keys:
            found.append(
                locate.issue(
                    "empty",
                    (*LIFT, name),
                    f"the {name} segment selects nothing: it has no key",
                    "write one or more of queue, agent, customer, workflow, e.g. {queue: [retention_pilot]}",
                )
            )
        for key, values in keys.items():
            if not values:
                found.append(
                    locate.issue(
                        "empty", (*LIFT, name, key), f"`{key}` lists no values",
                        f"list at least one {key}, or remove the key",
                    )
                )  # fmt: skip
            if key == "workflow":
                for w in values:
                    if w not in contract.workflows:
                        found.append(
                            locate.issue(
                                "unknown_workflow",
                                (*LIFT, name, key),
                                f"workflow {w!r} is not defined under `workflows`",
                                f"{_suggest(w, contract.workflows)}workflows: {_names(contract.workflows)}",
                            )
                        )
    needs = {"did": "control", "control": "control", "baseline": "baseline"}.get(req.method or "")
    if needs is not None and getattr(req, needs) is None:
        found.append(
            locate.issue(
                "method_needs",
                (*LIFT, "method"),
                f"method {req.method!r} compares the pilot with its {needs}, and no `{needs}` is given",
                f"add `{needs}: ...`, or leave `method` out (automatic: the difference-in-differences whenever "
                "the baseline has data for both groups)",
            )
        )
    if req.control is not None and req.control == req.pilot:
        found.append(
            locate.issue(
                "same_segments",
                (*LIFT, "control"),
                "the control group is the pilot itself: the lift would always be 0",
                "select the control by other queues, agents or customers than the pilot",
            )
        )
    if req.baseline is not None:
        from outcomes.period import Period

        try:
            Period.parse(req.baseline, contract.period)
        except ValueError as exc:
            found.append(
                locate.issue(
                    "bad_period",
                    (*LIFT, "baseline"),
                    str(exc),
                    "the baseline is one settlement period of this contract, usually before the pilot",
                )
            )
    if not Decimal(0) < req.confidence < Decimal(1):
        found.append(
            locate.issue(
                "out_of_range",
                (*LIFT, "confidence"),
                f"`confidence` {req.confidence} is not strictly between 0 and 1",
                'write the confidence level as a fraction, e.g. "0.95"',
            )
        )
    kind = METRIC_OUTCOME_KIND.get(req.metric)
    if kind and not _has_kind(contract, kind):
        found.append(
            locate.issue(
                "missing_outcome",
                (*LIFT, "metric"),
                f"{req.metric} needs a {kind} outcome, and none is defined",
                f"define an outcome with `kind: {kind}`",
            )
        )
    return found


# ----------------------------------------------------------------------------- term, versions, glide path


def term_order(contract: Contract, locate: Locator) -> list[Issue]:
    t = contract.term
    if t.end < t.start:
        return [
            locate.issue(
                "bad_term",
                ("term", "end"),
                f"the term ends ({t.end}) before it starts ({t.start})",
                "the term is inclusive of `start` and `end`: `end` must be on or after `start`",
            )
        ]
    return []


def effective_from_rules(contract: Contract, locate: Locator) -> list[Issue]:
    ef, t, period = contract.effective_from, contract.term, contract.period
    if ef is None:
        if contract.version > 1:
            # CONTRACT.md requires it on every later version, yet its own complete example (version 3)
            # leaves it out: a warning here; the ledger, which knows the earlier versions, must refuse it.
            return [
                locate.issue(
                    "missing_effective_from",
                    ("effective_from",),
                    f"version {contract.version} "
                    "has no `effective_from`, so it would settle from the term's start "
                    f"({t.start}) like version 1",
                    "add the first day this amendment settles, e.g. "
                    f"`effective_from: {t.start.isoformat()}` (the first day of a "
                    f"{_period_word(period)})",
                    level="warning",
                    at=("version",),
                )
            ]
        return []
    found = []
    if not t.start <= ef <= t.end:
        found.append(
            locate.issue(
                "bad_effective_from",
                ("effective_from",),
                f"`effective_from` {ef} is outside the term {t.start}..{t.end}",
                "pick a date inside the term",
            )
        )
    elif ef != t.start and not _is_period_start(ef, period):
        found.append(
            locate.issue(
                "bad_effective_from",
                ("effective_from",),
                f"`effective_from` {ef} is not the first day of a {_period_word(period)}",
                "a version settles whole periods: "
                f"use the first day of a {_period_word(period)}, or the term's start",
            )
        )
    return found


def glide_path_sorted(contract: Contract, locate: Locator) -> list[Issue]:
    found = []
    phases = contract.glide_path
    for k in range(1, len(phases)):
        if phases[k].from_ <= phases[k - 1].from_:
            found.append(
                locate.issue(
                    "unsorted_glide_path",
                    ("glide_path", k, "from"),
                    f"`from: {phases[k].from_}`"
                    f" is not after the previous phase's `from: {phases[k - 1].from_}`",
                    "list glide-path phases in strictly increasing `from` order",
                )
            )
    return found


def glide_path_covers(contract: Contract, locate: Locator) -> list[Issue]:
    phases = contract.glide_path
    found = []
    if phases:
        first = min(p.from_ for p in phases)
        if first > contract.starts:
            found.append(
                locate.issue(
                    "glide_path_gap",
                    ("glide_path", 0, "from"),
                    f"the glide path starts on "
                    f"{first}, after this version starts ({contract.starts}): earlier periods "
                    "would have no factor",
                    f"start the first phase on or before {contract.starts}",
                )
            )
    for k, phase in enumerate(phases):
        at = ("glide_path", k, "from")
        if phase.from_ > contract.term.end:
            found.append(
                locate.issue(
                    "glide_phase_outside_term",
                    at,
                    f"phase {k} starts on {phase.from_}, after "
                    f"the term ends ({contract.term.end}): it never applies",
                    "remove the phase or correct its date",
                    level="warning",
                )
            )
        elif phase.from_ > contract.term.start and not _is_period_start(phase.from_, contract.period):
            found.append(
                locate.issue(
                    "glide_path_mid_period",
                    at,
                    f"phase {k} starts on {phase.from_}, inside a "
                    f"{_period_word(contract.period)}: the phase in force at a period's start "
                    "applies to the whole period, so it takes effect from the next one",
                    f"start it on the first day of a {_period_word(contract.period)}",
                    level="warning",
                )
            )
        for key, factor in (("base_fee", phase.base_fee), ("outcome_fees", phase.outcome_fees)):
            if factor < 0:
                found.append(
                    locate.issue(
                        "out_of_range",
                        ("glide_path", k, key),
                        f"factor {factor} is below zero",
                        'write a factor of 0 or more, e.g. "0.50"',
                    )
                )
    return found


# -------------------------------------------------------------------------------------- service levels


def service_level_numbers(contract: Contract, locate: Locator) -> list[Issue]:
    sl = contract.service_levels
    if sl is None:
        return []
    found = []
    if not Decimal(0) <= sl.at_risk <= Decimal(1):
        found.append(
            locate.issue(
                "out_of_range",
                ("service_levels", "at_risk"),
                f"`at_risk` {sl.at_risk} is outside 0..1",
                'write the share of fees at risk as a fraction, e.g. "0.12"',
            )
        )
    if sl.pool <= 0:
        found.append(
            locate.issue(
                "out_of_range",
                ("service_levels", "pool"),
                f"`pool` {sl.pool} must be above zero",
                'leave it out for the default "1"',
            )
        )
    for i, m in enumerate(sl.measures):
        if m.weight <= 0:
            found.append(
                locate.issue(
                    "out_of_range",
                    (*MEASURES, i, "weight"),
                    f"weight {m.weight} must be above zero",
                    "remove the measure, or give it a positive weight",
                )
            )
    return found


def weights_sum_to_pool(contract: Contract, locate: Locator) -> list[Issue]:
    sl = contract.service_levels
    if sl is None or not sl.measures:
        return []
    total = sum((m.weight for m in sl.measures), Decimal(0))
    if total != sl.pool:
        pool = (
            f"`pool` ({sl.pool})"
            if locate.has(("service_levels", "pool"))
            else f"the pool ({sl.pool}, the default)"
        )
        return [
            locate.issue(
                "weights_pool",
                MEASURES,
                f"measure weights sum to {total}, not to {pool}",
                "adjust the weights so they add up to the pool, or set `service_levels.pool`",
            )
        ]
    return []


def measure_rules(contract: Contract, locate: Locator) -> list[Issue]:
    sl = contract.service_levels
    if sl is None:
        return []
    found = []
    for i, m in enumerate(sl.measures):
        at = (*MEASURES, i)
        if m.metric not in METRIC_NAMES:
            found.append(
                locate.issue(
                    "unknown_metric",
                    (*at, "metric"),
                    f"metric {m.metric!r} is not defined in METRICS.md",
                    _suggest(m.metric, METRIC_NAMES) + "see the metric list in docs/contract.md",
                )
            )
            continue
        if m.metric in CIRCULAR_METRICS:
            found.append(
                locate.issue(
                    "circular_metric",
                    (*at, "metric"),
                    f"{m.metric} is computed from the "
                    "settled total, which this measure's credit would change",
                    "measure something the credits do not move, e.g. verified_resolution_rate",
                )
            )
        if m.threshold is not None and m.metric != "service_level":
            found.append(
                locate.issue(
                    "misplaced_key",
                    (*at, "threshold"),
                    f"`threshold` applies to service_level only, not {m.metric}",
                    "remove `threshold`",
                )
            )
        if m.window is not None and m.metric != "revenue_influenced":
            found.append(
                locate.issue(
                    "misplaced_key",
                    (*at, "window"),
                    f"`window` applies to revenue_influenced only, not {m.metric}",
                    "remove `window`",
                )
            )
        low, high = METRIC_RANGES[m.metric]
        v = m.target.value
        if (low is not None and v < low) or (high is not None and v > high):
            rng = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            hint = (
                'rates are fractions: write ">= 0.80", not ">= 80"'
                if high == 1
                else f"{m.metric} lies in {rng}"
            )
            found.append(
                locate.issue(
                    "bad_target",
                    (*at, "target"),
                    f"target {m.target} is outside the range "
                    f"of {m.metric} ({rng}): it is always met or never met",
                    hint,
                )
            )
        kind = METRIC_OUTCOME_KIND.get(m.metric)
        if kind and not _has_kind(contract, kind):
            found.append(
                locate.issue(
                    "missing_outcome",
                    (*at, "metric"),
                    f"{m.metric} is defined through a {kind} outcome, and none is defined",
                    f"define an outcome with `kind: {kind}`, or measure another metric",
                )
            )
        for j, wf in enumerate(m.workflows or []):
            if wf not in contract.workflows:
                found.append(
                    locate.issue(
                        "unknown_workflow",
                        (*at, "workflows", j),
                        f"workflow {wf!r} is not defined",
                        _suggest(wf, contract.workflows) + f"defined workflows: {_names(contract.workflows)}",
                    )
                )
    return found


# -------------------------------------------------------------------------------------------- automation


def automation_rules(contract: Contract, locate: Locator) -> list[Issue]:
    a = contract.automation
    if a is None:
        return []
    found = []
    for key in ("baseline_containment", "productivity_share"):
        value = getattr(a, key)
        if not Decimal(0) <= value <= Decimal(1):
            found.append(
                locate.issue(
                    "out_of_range",
                    ("automation", key),
                    f"`{key}` {value} is outside 0..1",
                    'write it as a fraction, e.g. "0.20"',
                )
            )
    if not _has_kind(contract, "containment"):
        found.append(
            locate.issue(
                "missing_outcome",
                ("automation",),
                "`automation` counts contained contacts, and no containment outcome is defined",
                "define an outcome with `kind: containment`, or remove `automation`",
            )
        )
    return found


def review_triggers(contract: Contract, locate: Locator) -> list[Issue]:
    a = contract.automation
    if a is None:
        return []
    found = []
    for i, t in enumerate(a.review_triggers):
        at = ("automation", "review_triggers", i)
        if t.metric not in METRIC_NAMES:
            found.append(
                locate.issue(
                    "unknown_metric",
                    (*at, "metric"),
                    f"metric {t.metric!r} is not defined in METRICS.md",
                    _suggest(t.metric, METRIC_NAMES) + "see the metric list in docs/contract.md",
                )
            )
        if t.above is None and t.below is None:
            found.append(
                locate.issue(
                    "empty_trigger",
                    at,
                    "a review trigger needs `above` or `below`",
                    'add e.g. `above: "0.30"`',
                )
            )
        if t.above is not None and t.below is not None and t.above < t.below:
            found.append(
                locate.issue(
                    "always_fires",
                    (*at, "above"),
                    f"`above` {t.above} is below `below` "
                    f"{t.below}: every value is above one or below the other",
                    "swap them, or use two triggers",
                    level="warning",
                )
            )
        low, high = METRIC_RANGES.get(t.metric, (None, None))
        for key in ("above", "below"):
            v = getattr(t, key)
            if v is not None and ((low is not None and v < low) or (high is not None and v > high)):
                found.append(
                    locate.issue(
                        "out_of_range",
                        (*at, key),
                        f"{v} is outside the range of {t.metric}",
                        'rates are fractions, e.g. "0.30"' if high == 1 else None,
                    )
                )
        kind = METRIC_OUTCOME_KIND.get(t.metric)
        if kind and not _has_kind(contract, kind):
            found.append(
                locate.issue(
                    "missing_outcome",
                    (*at, "metric"),
                    f"{t.metric} needs a {kind} outcome, and none is defined",
                    f"define an outcome with `kind: {kind}`",
                )
            )
    return found


def seat_rules(contract: Contract, locate: Locator) -> list[Issue]:
    """Seats staffed from the data need a service level strictly between 0 and 1 and a shrinkage below 1."""
    seats = contract.pricing.seats
    found: list[Issue] = []
    if seats is None:
        return found
    if isinstance(seats.service_level, Decimal) and not Decimal(0) < seats.service_level < Decimal(1):
        found.append(
            locate.issue(
                "out_of_range",
                (*SEATS, "service_level"),
                f"`service_level` {seats.service_level} is not strictly between 0 and 1",
                'write the share answered within `answer_within`, e.g. "0.80"',
            )
        )
    if isinstance(seats.shrinkage, Decimal) and not Decimal(0) <= seats.shrinkage < Decimal(1):
        found.append(
            locate.issue(
                "out_of_range",
                (*SEATS, "shrinkage"),
                f"`shrinkage` {seats.shrinkage} is not in 0..1 (1 excluded)",
                'write the share of paid time agents cannot take contacts, e.g. "0.30"',
            )
        )
    if isinstance(seats.agent_hours, Decimal) and seats.agent_hours <= 0:
        found.append(
            locate.issue(
                "out_of_range",
                (*SEATS, "agent_hours"),
                f"`agent_hours` {seats.agent_hours} must be above 0",
                'write the paid hours of one agent in one period, e.g. "160" for a month',
            )
        )
    if isinstance(seats.answer_within, int) and seats.answer_within <= 0:
        found.append(
            locate.issue(
                "out_of_range",
                (*SEATS, "answer_within"),
                "`answer_within` must be above 0 seconds",
                "write e.g. 20s",
            )
        )
    return found


RULES: tuple[Rule, ...] = (
    ids_are_safe,
    empty_sections,
    duplicate_entries,
    overlapping_queues,
    multiple_defaults,
    unreachable_workflows,
    containment_is_bot_only,
    retained_for_on_saves,
    pricing_has_fees,
    fee_outcomes_known,
    fee_workflows_known,
    fee_price_shape,
    tiers_sorted,
    fee_outcomes_verifiable,
    double_count,
    amounts_not_negative,
    money_fits_currency,
    minimum_not_above_maximum,
    value_share_rules,
    lift_requirement_rules,
    term_order,
    effective_from_rules,
    glide_path_sorted,
    glide_path_covers,
    service_level_numbers,
    weights_sum_to_pool,
    measure_rules,
    automation_rules,
    review_triggers,
    seat_rules,
)


def check(contract: Contract, locator: Locator | None = None) -> list[Issue]:
    """Every cross-field rule over a validated contract; issues in rule order (the loader sorts by line)."""
    locate = locator if locator is not None else Locator()
    found: list[Issue] = []
    for rule in RULES:
        found.extend(rule(contract, locate))
    return found
