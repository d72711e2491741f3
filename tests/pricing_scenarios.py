"""A pricing scenario's contract: a shared header (term, workflows, outcomes) with a scenario's keys over it."""

from __future__ import annotations

from ruamel.yaml import YAML

from outcomes.contract.schema import Contract

HEADER = """
contract: scenario
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: America/New_York
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
workflows:
  card_disputes: {queues: [disputes]}
  tech: {queues: [tech]}
  general: {default: true}
outcomes:
  resolution: {kind: resolution}
  containment: {kind: containment}
"""


def contract(text: str) -> Contract:
    """HEADER with the top-level keys of `text` laid over it."""
    yaml = YAML(typ="safe")
    data = yaml.load(HEADER)
    data.update(yaml.load(text))
    return Contract.model_validate(data)
