"""The contract language (CONTRACT.md) as Pydantic models.

The models hold values only; cross-field rules that need the whole contract (overlapping queues, one contact
countable by two fee lines, ...) live in `rules.py` so that every problem is reported at once with its place.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WrapSerializer,
    field_validator,
)

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, e.g. \"7.50\"")
    if isinstance(value, float):
        # repr() is the shortest text that reads back as this float: what the author typed, in practice.
        value = repr(value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"expected a decimal number such as \"7.50\", got {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"expected a finite decimal number, got {value!r}")
    if abs(d) >= MAX_DECIMAL:
        raise ValueError(f"{_short(value)} is too large: numbers in a contract are below {MAX_DECIMAL:,}")
    if decimal_places(d) > MAX_DECIMAL_PLACES:
        raise ValueError(f"{_short(value)} has more than {MAX_DECIMAL_PLACES} decimal places")
    return d


#: Every decimal of a contract is below this in size and has at most MAX_DECIMAL_PLACES places, so that any
#: settlement arithmetic on it (times a count of contacts, summed over lines) stays exact.
MAX_DECIMAL = Decimal(10) ** 12
MAX_DECIMAL_PLACES = 10


def decimal_places(d: Decimal) -> int:
    """Places after the point, trailing zeros not counted: 7.50 -> 1, 1e30 -> 0, 0.125 -> 3."""
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0
    zeros = 0
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
        zeros += 1
    return max(0, -(exponent + zeros))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _decimal_text(d: Decimal) -> str:
    return format(d, "f")


Dec = Annotated[Decimal, BeforeValidator(_to_decimal), PlainSerializer(_decimal_text, return_type=str)]


def parse_duration(value: Any) -> int:
    """'7d' -> 604800. Windows are elapsed seconds (h = 3,600 s, d = 86,400 s), whatever DST does."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"a duration needs a unit, e.g. \"{value}d\" or \"{value}h\"")
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"expected a duration such as 7d, 72h, 30m or 20s, got {value!r}")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def duration_text(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(duration_text, return_type=str)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Parties(Strict):
    buyer: str
    provider: str
    # optional, an extension of CONTRACT.md (docs/contract.md): the audit firm whose users the shared server
    # lets read everything of the contract (docs/server.md)
    auditor: str | None = None


class Term(Strict):
    start: date
    end: date


class Workflow(Strict):
    queues: list[str] = Field(default_factory=list)
    default: bool = False


class RepeatContact(Strict):
    within: Duration
    same: list[Literal["customer", "workflow"]] = Field(default_factory=lambda: ["customer"])
    channels: Literal["any"] = "any"

    @field_validator("same")
    @classmethod
    def _needs_customer(cls, v: list[str]) -> list[str]:
        if "customer" not in v:
            raise ValueError("`same` must include customer: a repeat is a later contact by the same customer")
        return v


OutcomeKind = Literal["resolution", "containment", "save"]
Handler = Literal["agent", "bot"]


class Outcome(Strict):
    kind: OutcomeKind
    handled_by: list[Handler] | None = None
    repeat_contact: RepeatContact | None = None
    reopened: Literal["exclude", "allow"] = "exclude"
    min_csat: int | None = Field(default=None, ge=1, le=5)
    retained_for: Duration | None = None

    def handlers(self) -> tuple[str, ...]:
        """Who may have handled a counted contact (containment is always bot-only)."""
        if self.kind == "containment":
            return ("bot",)
        if self.handled_by is None:
            return ("agent",) if self.kind == "resolution" else ("agent", "bot")
        return tuple(self.handled_by)


class PriceTier(Strict):
    up_to: int | None = Field(default=None, ge=1)
    unit: Dec
    flat: Dec | None = None  # a flat fee for reaching the tier (graduated: every tier reached; volume: the one)


class Package(Strict):
    """Whole packages of `size` units at `price` each, after `free` units (lago's package charge model)."""

    size: int = Field(ge=1)
    price: Dec
    free: int = Field(default=0, ge=0)


class OutcomeFee(Strict):
    outcome: str
    workflows: list[str] | None = None  # None: every workflow
    tiers: Literal["graduated", "volume"] | None = None
    prices: list[PriceTier] | None = None
    unit: Dec | None = None
    package: Package | None = None


class LiftSegment(Strict):
    """Which contacts form a pilot or control group: every key given must match (a value of its list)."""

    queue: list[str] | None = None
    agent: list[str] | None = None
    customer: list[str] | None = None
    workflow: list[str] | None = None

    @field_validator("queue", "agent", "customer", "workflow")
    @classmethod
    def _as_set(cls, v: list[str] | None) -> list[str] | None:
        # a segment is a set: order and repeats mean nothing (and do not change the canonical form)
        return None if v is None else sorted(set(v))


class LiftRequirement(Strict):
    """Value share is paid only when `metric` shows a significant, favourable lift (docs/uplift.md)."""

    metric: Literal["save_rate", "churn_rate", "csat_top2box", "fcr_rate"]
    pilot: LiftSegment
    control: LiftSegment | None = None
    baseline: str | None = None  # a period label, e.g. 2026-03 (or 2026-Q1 for quarterly contracts)
    confidence: Dec = Decimal("0.95")
    resamples: int = Field(default=2000, ge=200, le=100000)
    seed: int = Field(default=0, ge=0)
    # what the gate decides on: did (difference-in-differences), control (pilot - control), baseline (pilot -
    # its baseline); None: automatic, the DiD whenever the baseline has data for both groups (docs/uplift.md)
    method: Literal["did", "control", "baseline"] | None = None


def _lift_option(value: Any) -> Any:
    """`false` (or absent) means no requirement; `true` alone cannot say which lift, so it is refused."""
    if value is None or value is False:
        return None
    if value is True:
        raise ValueError(
            "`true` does not say which lift: write a mapping with metric, pilot and control or baseline "
            "(see docs/contract.md), or false"
        )
    return value


def _lift_dump(value: Any, handler: Any) -> Any:
    # Absent is written `false`, as before the option had a form: contracts without it keep their hash.
    return False if value is None else handler(value)


LiftOption = Annotated[
    LiftRequirement | None, BeforeValidator(_lift_option), WrapSerializer(_lift_dump, when_used="always")
]


class ValueShare(Strict):
    metric: Literal["revenue_retained", "revenue_influenced"]
    share: Dec
    baseline: Dec = Decimal("0")
    window: Duration | None = None
    require_significant_lift: LiftOption = None


class VolumeFee(Strict):
    """A fee per unit of work (an extension of CONTRACT.md, docs/contract.md "Pricing models"): per handled
    `contact`, or per `handled_minute` (each contact's handle time rounded up to the whole minute), priced like
    an outcome fee (`unit`, or `tiers` + `prices`)."""

    basis: Literal["contact", "handled_minute"]
    workflows: list[str] | None = None  # None: every workflow
    handled_by: list[Handler] = Field(default_factory=lambda: ["agent"])
    tiers: Literal["graduated", "volume"] | None = None
    prices: list[PriceTier] | None = None
    unit: Dec | None = None

    @property
    def outcome(self) -> str:
        # the charge models name a fee by its outcome in their messages; a volume fee by its basis
        return self.basis

    @property
    def package(self) -> None:
        # packages are written on outcome fees only; the charge models and rules read both kinds alike
        return None


def default_agent_hours(period: str) -> Decimal:
    """Paid hours of one full-time agent in a period: 160 a month, 480 a quarter."""
    return Decimal(160) if period == "month" else Decimal(480)


def _agents(value: Any) -> int | str:
    if value == "from_data" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"`agents` is a whole number of agents (0 or more) or from_data, got {value!r}")


class Seats(Strict):
    """FTE / seat pricing (an extension of CONTRACT.md): `agents` x `rate` per period. `agents` is a number, or
    `from_data`: the agents the period's demand needs, staffed from the data (docs/contract.md)."""

    rate: Dec
    agents: Annotated[int | str, BeforeValidator(_agents)]
    service_level: Dec = Decimal("0.80")  # from_data: the share answered within `answer_within`
    answer_within: Duration = 20
    shrinkage: Dec = Decimal("0.30")  # from_data: paid time not available to take contacts
    agent_hours: Dec | None = None  # from_data: paid hours of one agent in one period (160 a month)


class Pricing(Strict):
    base_fee: Dec | None = None
    outcome_fees: list[OutcomeFee] = Field(default_factory=list)
    volume_fees: list[VolumeFee] = Field(default_factory=list)
    seats: Seats | None = None
    value_share: ValueShare | None = None
    minimum: Dec | None = None
    maximum: Dec | None = None


_TARGET = re.compile(r"^\s*(>=|<=)\s*(-?\d+(?:\.\d+)?)\s*$")


class Target(Strict):
    op: Literal[">=", "<="]
    value: Dec

    def met(self, actual: Decimal) -> bool:
        return actual >= self.value if self.op == ">=" else actual <= self.value

    def __str__(self) -> str:
        return f"{self.op} {_decimal_text(self.value)}"


def _parse_target(value: Any) -> Any:
    if isinstance(value, (dict, Target)):
        return value
    m = _TARGET.match(str(value))
    if not m:
        raise ValueError(f"expected a target such as \">= 0.80\" or \"<= 0.05\", got {value!r}")
    return {"op": m.group(1), "value": m.group(2)}


TargetExpr = Annotated[Target, BeforeValidator(_parse_target), PlainSerializer(str, return_type=str)]


class Measure(Strict):
    metric: str
    target: TargetExpr
    weight: Dec
    workflows: list[str] | None = None
    threshold: Duration | None = None  # service_level: answered within this many seconds
    window: Duration | None = None


class EarnBack(Strict):
    periods: int = Field(ge=1)


class ServiceLevels(Strict):
    at_risk: Dec
    measures: list[Measure]
    pool: Dec = Decimal("1")
    earn_back: EarnBack | None = None
    no_data: Literal["ignore", "missed", "met"] = "ignore"


class GlidePhase(Strict):
    from_: date = Field(alias="from")
    base_fee: Dec = Decimal("1")
    outcome_fees: Dec = Decimal("1")


class ReviewTrigger(Strict):
    metric: str
    above: Dec | None = None
    below: Dec | None = None


class Automation(Strict):
    baseline_containment: Dec
    human_contact_cost: Dec
    productivity_share: Dec
    review_triggers: list[ReviewTrigger] = Field(default_factory=list)


class Audit(Strict):
    buyer_may_rerun: bool = True
    evidence_retention: str | None = None


class Contract(Strict):
    contract: str = Field(min_length=1)
    version: int = Field(ge=1)
    parties: Parties
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str
    term: Term
    period: Literal["month", "quarter"]
    system_of_record: str = Field(min_length=1)
    effective_from: date | None = None
    billable_providers: list[str] | None = None
    workflows: dict[str, Workflow]
    outcomes: dict[str, Outcome]
    pricing: Pricing
    service_levels: ServiceLevels | None = None
    glide_path: list[GlidePhase] = Field(default_factory=list)
    automation: Automation | None = None
    audit: Audit | None = None

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, v: str) -> str:
        from .currency import problem

        found = problem(v)
        if found is not None:
            raise ValueError(f"{found}; use a three-letter ISO 4217 code such as USD, EUR or JPY")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Europe/London") from None
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def starts(self) -> date:
        """The first day this version settles: `effective_from`, else the term's start."""
        return self.effective_from or self.term.start

    def default_workflow(self) -> str | None:
        return next((name for name, wf in self.workflows.items() if wf.default), None)

    def fee_workflows(self, fee: OutcomeFee | VolumeFee) -> list[str]:
        return list(fee.workflows) if fee.workflows is not None else list(self.workflows)

    def longest_repeat_window(self) -> int:
        return max((o.repeat_contact.within for o in self.outcomes.values() if o.repeat_contact), default=0)
