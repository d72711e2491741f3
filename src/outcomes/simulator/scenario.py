"""The scenario file of `outcomes simulate` (and the cost model `outcomes compare` reads): Pydantic models,
read with the contract loader's YAML reader and limits, every problem reported at once (docs/simulator.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outcomes.contract.schema import Dec
from outcomes.errors import OutcomesError

Share = Annotated[Decimal, Field(ge=0, le=1)]
Change = Annotated[Decimal, Field(ge=-1, le=10)]


class ScenarioError(OutcomesError):
    code = "bad_scenario"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderCosts(Model):
    """What the provider's delivery costs: agent time (at an occupancy), a fixed cost, bots."""

    agent_hour: Dec = Decimal("0")  # loaded cost of one paid agent hour
    occupancy: Annotated[Dec, Field(gt=0, le=1)] = Decimal("0.85")  # share of paid time spent handling
    fixed_per_period: Dec = Decimal("0")
    per_bot_contact: Dec = Decimal("0")


class BuyerCosts(Model):
    """What the buyer pays beside the invoice (e.g. its own bot platform)."""

    fixed_per_period: Dec = Decimal("0")
    per_bot_contact: Dec = Decimal("0")


class Costs(Model):
    provider: ProviderCosts = ProviderCosts()
    buyer: BuyerCosts = BuyerCosts()


class ChannelShift(Model):
    from_: str = Field(alias="from")
    to: str
    share: Share  # of the `from` channel's agent contacts


class Automation(Model):
    """A bot deflects `deflect` of the simple agent contacts; the contacts left are longer and harder."""

    deflect: Share
    simple_share: Share = Decimal("0.40")  # share of agent contacts that are simple
    simple_aht_factor: Annotated[Dec, Field(gt=0, le=1)] = Decimal(
        "0.60"
    )  # a simple contact's AHT / the mean
    harder_fcr: Annotated[Dec, Field(ge=-1, le=1)] = Decimal("-0.02")  # FCR change of the contacts left


class PriceReview(Model):
    factor: Annotated[Dec, Field(ge=0, le=10)]  # every price and fixed amount of the contract times this


class Changes(Model):
    volume_growth: Change = Decimal("0")
    channel_shift: ChannelShift | None = None
    automation: Automation | None = None
    fcr_change: Annotated[Dec, Field(ge=-1, le=1)] = Decimal("0")
    glide_from: date | None = None  # price under the glide-path phase in force on this day
    price_review: PriceReview | None = None


class Uncertainty(Model):
    """Monte Carlo spread: volume and AHT multipliers ~ Normal(1, cv), FCR ~ Normal(its value, sd)."""

    volume_cv: Annotated[Dec, Field(ge=0, le=1)] = Decimal("0.05")
    aht_cv: Annotated[Dec, Field(ge=0, le=1)] = Decimal("0.03")
    fcr_sd: Annotated[Dec, Field(ge=0, le=1)] = Decimal("0.02")


class Incentive(Model):
    fcr_step: Annotated[Dec, Field(gt=0, le=1)] = Decimal("0.05")
    automation_step: Annotated[Dec, Field(gt=0, le=1)] = Decimal("0.20")


class Scenario(Model):
    name: str = "scenario"
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    runs: int = Field(default=1000, ge=10, le=100_000)
    costs: Costs = Costs()
    changes: Changes = Changes()
    uncertainty: Uncertainty = Uncertainty()
    incentive: Incentive = Incentive()


def read_scenario(path: Path) -> Scenario:
    """The scenario in `path`, or ScenarioError naming every problem with its file, line and key."""
    from outcomes.contract.loader import parse_yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text") from None
    data, locate, issues = parse_yaml(text, str(path))
    if issues:
        raise ScenarioError("; ".join(str(i).splitlines()[0] for i in issues), hint=HINT)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: a scenario is a mapping of keys (name, seed, runs, costs, changes, ...)"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            while loc and locate.line(loc) is None:
                loc = loc[:-1]
            line = locate.line(loc) or 1
            where = ".".join(str(p) for p in err["loc"]) or "(top)"
            problems.append(f"{path}:{line}: {where}: {err['msg']}")
        raise ScenarioError("; ".join(problems), hint=HINT) from None


HINT = "the scenario file's keys are documented in docs/simulator.md"
