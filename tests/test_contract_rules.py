"""Scenario tests of the contract rules: one inline contract, one edit per rule, the issue on the marked line.

Each case edits the valid contract BASE; the line the issue must name carries the marker `# <-`.
"""

from __future__ import annotations

import pytest

from outcomes.contract import Issue, check, load_contract_text
from outcomes.contract.schema import Contract

BASE = """\
contract: test-co
version: 1
parties: {buyer: Buyer Inc, provider: Provider Ltd}
currency: USD
timezone: America/New_York
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm

workflows:
  disputes: {queues: [disputes, chargebacks]}
  onboarding: {queues: [onboarding]}
  general: {default: true}

outcomes:
  resolution:
    kind: resolution
    handled_by: [agent]
    repeat_contact: {within: 7d, same: [customer]}
  containment:
    kind: containment
    repeat_contact: {within: 72h, same: [customer]}
  save:
    kind: save
    retained_for: 90d

pricing:
  base_fee: "1000.00"
  outcome_fees:
    - outcome: resolution
      workflows: [disputes]
      tiers: graduated
      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]
    - outcome: resolution
      workflows: [onboarding, general]
      unit: "4.00"
    - outcome: containment
      unit: "0.99"
  value_share: {metric: revenue_retained, share: "0.10", baseline: "400.00"}
  minimum: "500.00"
  maximum: "9000.00"

service_levels:
  at_risk: "0.10"
  measures:
    - {metric: csat_top2box, target: ">= 0.80", weight: "0.5"}
    - {metric: service_level, target: ">= 0.80", weight: "0.5", threshold: 30s, workflows: [disputes]}
  earn_back: {periods: 3}

glide_path:
  - {from: 2026-01-01, base_fee: "1.00", outcome_fees: "0.50"}
  - {from: 2026-07-01, base_fee: "0.50", outcome_fees: "1.00"}

automation:
  baseline_containment: "0.20"
  human_contact_cost: "6.50"
  productivity_share: "0.50"
  review_triggers:
    - {metric: containment_rate, above: "0.30"}

audit: {buyer_may_rerun: true, evidence_retention: 24 months}
"""

MARK = "# <-"


def edit(*changes: tuple[str, str], base: str = BASE) -> str:
    text = base
    for old, new in changes:
        assert text.count(old) == 1, f"edit target not unique in the contract: {old!r}"
        text = text.replace(old, new)
    return text


def marked_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if MARK in line]
    assert len(lines) == 1, "mark exactly one line with # <-"
    return lines[0]


def issues_of(text: str) -> list[Issue]:
    return load_contract_text(text, "contract.yaml")[1]


def test_base_contract_is_valid() -> None:
    contract, issues = load_contract_text(BASE, "contract.yaml")
    assert issues == []
    assert contract is not None


# (id, edits, code, level)
CASES: list[tuple[str, list[tuple[str, str]], str, str]] = [
    (
        "overlapping_queues",
        [("onboarding: {queues: [onboarding]}", "onboarding: {queues: [onboarding, chargebacks]}  # <-")],
        "overlapping_queues",
        "error",
    ),
    (
        "multiple_defaults",
        [
            ("onboarding: {queues: [onboarding]}", "onboarding: {queues: [onboarding], default: true}"),
            ("general: {default: true}", "general: {default: true}  # <-"),
        ],
        "multiple_defaults",
        "error",
    ),
    (
        "empty_workflow",
        [("  general: {default: true}\n", "  general: {default: true}\n  spare: {}  # <-\n")],
        "empty_workflow",
        "warning",
    ),
    (
        "duplicate_queue",
        [("disputes: {queues: [disputes, chargebacks]}", "disputes: {queues: [disputes, disputes]}  # <-")],
        "duplicate_entry",
        "warning",
    ),
    (
        "unknown_outcome",
        [("    - outcome: containment\n", "    - outcome: containmnt  # <-\n")],
        "unknown_outcome",
        "error",
    ),
    (
        "unknown_workflow_in_fee",
        [("workflows: [onboarding, general]", "workflows: [onboarding, generl]  # <-")],
        "unknown_workflow",
        "error",
    ),
    (
        "unknown_workflow_in_measure",
        [("threshold: 30s, workflows: [disputes]}", "threshold: 30s, workflows: [dispute]}  # <-")],
        "unknown_workflow",
        "error",
    ),
    (
        "unit_and_prices",
        [
            (
                '      tiers: graduated\n      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]\n',
                '      unit: "1.00"\n      tiers: graduated\n'
                '      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]  # <-\n',
            )
        ],
        "unit_and_prices",
        "error",
    ),
    (
        "missing_price",
        [('    - outcome: containment\n      unit: "0.99"\n', "    - outcome: containment  # <-\n")],
        "missing_price",
        "error",
    ),
    (
        "tiers_without_prices",
        [
            (
                '      workflows: [onboarding, general]\n      unit: "4.00"\n',
                '      workflows: [onboarding, general]\n      tiers: volume  # <-\n      unit: "4.00"\n',
            )
        ],
        "tiers_without_prices",
        "error",
    ),
    (
        "prices_without_tiers",
        [
            (
                '      tiers: graduated\n      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]\n',
                '      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]  # <-\n',
            )
        ],
        "prices_without_tiers",
        "error",
    ),
    (
        "unsorted_tiers",
        [
            (
                '      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]\n',
                '      prices:\n        - {up_to: 100, unit: "7.50"}\n'
                '        - {up_to: 100, unit: "6.00"}  # <-\n'
                '        - {unit: "5.00"}\n',
            )
        ],
        "unsorted_tiers",
        "error",
    ),
    (
        "tier_after_open",
        [
            (
                '      prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]\n',
                '      prices:\n        - {up_to: 100, unit: "7.50"}\n        - {unit: "6.00"}\n'
                '        - {unit: "5.00"}  # <-\n',
            )
        ],
        "tier_after_open",
        "error",
    ),
    (
        "last_tier_bounded",
        [
            (
                'prices: [{up_to: 100, unit: "7.50"}, {unit: "5.00"}]',
                'prices: [{up_to: 100, unit: "7.50"}, {up_to: 200, unit: "5.00"}]  # <-',
            )
        ],
        "last_tier_bounded",
        "error",
    ),
    (
        "unverifiable_outcome",
        [
            (
                "    kind: containment\n    repeat_contact: {within: 72h, same: [customer]}\n",
                "    kind: containment\n",
            ),
            ("    - outcome: containment\n", "    - outcome: containment  # <-\n"),
        ],
        "unverifiable_outcome",
        "warning",
    ),
    (
        "double_count_same_outcome",
        [("workflows: [onboarding, general]", "workflows: [onboarding, disputes]  # <-")],
        "double_count",
        "error",
    ),
    (
        "double_count_line_without_workflows",
        [
            (
                "    - outcome: containment\n",
                '    - outcome: resolution  # <-\n      unit: "3.00"\n    - outcome: containment\n',
            )
        ],
        "double_count",
        "error",
    ),
    (
        "double_count_resolution_by_bot_beside_containment",
        [
            ("handled_by: [agent]", "handled_by: [agent, bot]"),
            ("    - outcome: containment\n", "    - outcome: containment  # <-\n"),
        ],
        "double_count",
        "error",
    ),
    (
        "double_count_save_beside_resolution",
        [
            (
                "    - outcome: containment\n",
                "    - outcome: save\n      workflows: [onboarding]  # <-\n"
                '      unit: "20.00"\n    - outcome: containment\n',
            )
        ],
        "double_count",
        "error",
    ),
    (
        "containment_not_bot",
        [("    kind: containment\n", "    kind: containment\n    handled_by: [agent, bot]  # <-\n")],
        "containment_not_bot",
        "error",
    ),
    ("empty_handled_by", [("handled_by: [agent]", "handled_by: []  # <-")], "empty", "error"),
    (
        "retained_for_missing_on_save",
        [("  save:\n    kind: save\n    retained_for: 90d\n", "  save:  # <-\n    kind: save\n")],
        "missing_key",
        "error",
    ),
    (
        "retained_for_on_containment",
        [("    kind: containment\n", "    kind: containment\n    retained_for: 30d  # <-\n")],
        "misplaced_key",
        "error",
    ),
    (
        "min_csat_range",
        [("    handled_by: [agent]\n", "    handled_by: [agent]\n    min_csat: 0  # <-\n")],
        "out_of_range",
        "error",
    ),
    (
        "value_share_window_not_influenced",
        [('baseline: "400.00"}', 'baseline: "400.00", window: 30d}  # <-')],
        "misplaced_key",
        "error",
    ),
    (
        "value_share_share_range",
        [('share: "0.10", baseline: "400.00"}', 'share: "10", baseline: "400.00"}  # <-')],
        "out_of_range",
        "error",
    ),
    (
        "value_share_needs_save_outcome",
        [
            ("  save:\n    kind: save\n    retained_for: 90d\n", ""),
            ('baseline: "400.00"}', 'baseline: "400.00"}  # <-'),
        ],
        "missing_outcome",
        "error",
    ),
    ("min_above_max", [('  minimum: "500.00"', '  minimum: "10000.00"  # <-')], "min_above_max", "error"),
    (
        "negative_amount",
        [('  base_fee: "1000.00"', '  base_fee: "-1000.00"  # <-')],
        "negative_amount",
        "error",
    ),
    (
        "bad_term",
        [("term: {start: 2026-01-01, end: 2026-12-31}", "term: {start: 2026-01-01, end: 2025-12-31}  # <-")],
        "bad_term",
        "error",
    ),
    ("missing_effective_from", [("version: 1", "version: 2  # <-")], "missing_effective_from", "warning"),
    (
        "effective_from_mid_month",
        [("version: 1", "version: 2\neffective_from: 2026-03-15  # <-")],
        "bad_effective_from",
        "error",
    ),
    (
        "effective_from_outside_term",
        [("version: 1", "version: 2\neffective_from: 2027-01-01  # <-")],
        "bad_effective_from",
        "error",
    ),
    (
        "effective_from_not_a_quarter_start",
        [
            ("period: month", "period: quarter"),
            ("version: 1", "version: 2\neffective_from: 2026-02-01  # <-"),
        ],
        "bad_effective_from",
        "error",
    ),
    (
        "unsorted_glide_path",
        [
            (
                '  - {from: 2026-07-01, base_fee: "0.50", outcome_fees: "1.00"}',
                '  - {from: 2026-01-01, base_fee: "0.50", outcome_fees: "1.00"}  # <-',
            )
        ],
        "unsorted_glide_path",
        "error",
    ),
    (
        "glide_path_gap",
        [
            (
                '  - {from: 2026-01-01, base_fee: "1.00", outcome_fees: "0.50"}',
                '  - {from: 2026-02-01, base_fee: "1.00", outcome_fees: "0.50"}  # <-',
            )
        ],
        "glide_path_gap",
        "error",
    ),
    (
        "glide_path_mid_period",
        [
            (
                '  - {from: 2026-07-01, base_fee: "0.50", outcome_fees: "1.00"}',
                '  - {from: 2026-07-15, base_fee: "0.50", outcome_fees: "1.00"}  # <-',
            )
        ],
        "glide_path_mid_period",
        "warning",
    ),
    (
        "glide_phase_outside_term",
        [
            (
                '  - {from: 2026-07-01, base_fee: "0.50", outcome_fees: "1.00"}',
                '  - {from: 2027-07-01, base_fee: "0.50", outcome_fees: "1.00"}  # <-',
            )
        ],
        "glide_phase_outside_term",
        "warning",
    ),
    (
        "glide_factor_negative",
        [('base_fee: "0.50", outcome_fees: "1.00"}', 'base_fee: "-0.50", outcome_fees: "1.00"}  # <-')],
        "out_of_range",
        "error",
    ),
    (
        "weights_pool",
        [
            (
                '{metric: csat_top2box, target: ">= 0.80", weight: "0.5"}',
                '{metric: csat_top2box, target: ">= 0.80", weight: "0.4"}',
            ),
            ("  measures:\n", "  measures:  # <-\n"),
        ],
        "weights_pool",
        "error",
    ),
    (
        "weights_pool_explicit_pool",
        [
            ('  at_risk: "0.10"\n', '  at_risk: "0.10"\n  pool: "2.0"\n'),
            ("  measures:\n", "  measures:  # <-\n"),
        ],
        "weights_pool",
        "error",
    ),
    ("at_risk_range", [('  at_risk: "0.10"', '  at_risk: "1.10"  # <-')], "out_of_range", "error"),
    (
        "pool_not_positive",
        [('  at_risk: "0.10"\n', '  at_risk: "0.10"\n  pool: "0"  # <-\n')],
        "out_of_range",
        "error",
    ),
    (
        "empty_measures",
        [
            (
                '  measures:\n    - {metric: csat_top2box, target: ">= 0.80", weight: "0.5"}\n'
                '    - {metric: service_level, target: ">= 0.80", weight: "0.5", threshold: 30s, '
                "workflows: [disputes]}\n",
                "  measures: []  # <-\n",
            )
        ],
        "empty",
        "error",
    ),
    (
        "unknown_metric_in_measure",
        [
            (
                '    - {metric: csat_top2box, target: ">= 0.80", weight: "0.5"}',
                '    - {metric: csat_top2bx, target: ">= 0.80", weight: "0.5"}  # <-',
            )
        ],
        "unknown_metric",
        "error",
    ),
    (
        "threshold_not_service_level",
        [('weight: "0.5"}\n', 'weight: "0.5", threshold: 20s}  # <-\n')],
        "misplaced_key",
        "error",
    ),
    (
        "window_not_revenue_influenced",
        [('weight: "0.5"}\n', 'weight: "0.5", window: 30d}  # <-\n')],
        "misplaced_key",
        "error",
    ),
    (
        "target_outside_metric_range",
        [
            ('{metric: csat_top2box, target: ">= 0.80"', '{metric: csat_top2box, target: ">= 80"'),
            ('weight: "0.5"}\n', 'weight: "0.5"}  # <-\n'),
        ],
        "bad_target",
        "error",
    ),
    (
        "target_expression",
        [
            ('{metric: csat_top2box, target: ">= 0.80"', '{metric: csat_top2box, target: "> 0.80"'),
            ('weight: "0.5"}\n', 'weight: "0.5"}  # <-\n'),
        ],
        "bad_target",
        "error",
    ),
    (
        "circular_metric",
        [
            (
                '{metric: csat_top2box, target: ">= 0.80"',
                '{metric: cost_per_verified_resolution, target: "<= 5.00"',
            ),
            ('weight: "0.5"}\n', 'weight: "0.5"}  # <-\n'),
        ],
        "circular_metric",
        "error",
    ),
    (
        "automation_rate_range",
        [('  productivity_share: "0.50"', '  productivity_share: "1.50"  # <-')],
        "out_of_range",
        "error",
    ),
    (
        "automation_negative_cost",
        [('  human_contact_cost: "6.50"', '  human_contact_cost: "-6.50"  # <-')],
        "negative_amount",
        "error",
    ),
    (
        "review_trigger_unknown_metric",
        [('{metric: containment_rate, above: "0.30"}', '{metric: containment_rat, above: "0.30"}  # <-')],
        "unknown_metric",
        "error",
    ),
    (
        "review_trigger_without_bounds",
        [('{metric: containment_rate, above: "0.30"}', "{metric: containment_rate}  # <-")],
        "empty_trigger",
        "error",
    ),
    (
        "review_trigger_always_fires",
        [
            (
                '{metric: containment_rate, above: "0.30"}',
                '{metric: containment_rate, above: "0.10", below: "0.30"}  # <-',
            )
        ],
        "always_fires",
        "warning",
    ),
    (
        "review_trigger_out_of_range",
        [('{metric: containment_rate, above: "0.30"}', '{metric: containment_rate, above: "30"}  # <-')],
        "out_of_range",
        "error",
    ),
    (
        "billable_providers_empty",
        [("system_of_record: crm\n", "system_of_record: crm\nbillable_providers: []  # <-\n")],
        "empty",
        "error",
    ),
]


@pytest.mark.parametrize(("edits", "code", "level"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_fires_on_the_marked_line(edits: list[tuple[str, str]], code: str, level: str) -> None:
    text = edit(*edits)
    contract, issues = load_contract_text(text, "contract.yaml")
    hits = [i for i in issues if i.code == code]
    assert hits, f"expected {code}, got:\n" + "\n".join(map(str, issues))
    assert any(i.line == marked_line(text) for i in hits), "\n".join(map(str, hits))
    hit = next(i for i in hits if i.line == marked_line(text))
    assert hit.level == level
    assert hit.file == "contract.yaml"
    assert hit.field and hit.hint and hit.message
    if level == "warning" and all(i.level == "warning" for i in issues):
        assert contract is not None  # warnings alone leave the contract usable
    else:
        assert contract is None


def test_pricing_needs_base_fee_or_outcome_fees() -> None:
    text = """\
contract: c
version: 1
parties: {buyer: B, provider: P}
currency: EUR
timezone: Europe/Paris
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows: {general: {default: true}}
outcomes: {resolution: {kind: resolution, repeat_contact: {within: 7d}}}
pricing:  # <-
  minimum: "100.00"
"""
    issues = issues_of(text)
    assert [(i.code, i.line, i.field) for i in issues] == [("missing_key", marked_line(text), "pricing")]


def test_empty_workflows_and_outcomes() -> None:
    text = edit(
        (
            "workflows:\n  disputes: {queues: [disputes, chargebacks]}\n"
            "  onboarding: {queues: [onboarding]}\n"
            "  general: {default: true}\n",
            "workflows: {}\n",
        ),
    )
    issues = issues_of(text)
    empty = [i for i in issues if i.code == "empty"]
    assert [i.field for i in empty] == ["workflows"]
    assert empty[0].line == text.splitlines().index("workflows: {}") + 1
    assert {i.code for i in issues} >= {"unknown_workflow"}  # and the fee lines' names are unknown now

    text = """\
contract: c
version: 1
parties: {buyer: B, provider: P}
currency: EUR
timezone: Europe/Paris
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows: {general: {default: true}}
outcomes: {}  # <-
pricing: {base_fee: "10.00"}
"""
    issues = issues_of(text)
    assert [(i.code, i.line) for i in issues] == [("empty", marked_line(text))]


def test_save_fee_in_its_own_workflow_is_not_double_counted() -> None:
    """A save paid in a retention workflow no resolution line covers, handled by agents only (so that the
    containment line, which covers every workflow, cannot count the same bot contact): no issue."""
    text = edit(
        (
            "  general: {default: true}\n",
            "  general: {default: true}\n  retention: {queues: [cancellations]}\n",
        ),
        ("    kind: save\n", "    kind: save\n    handled_by: [agent]\n"),
        (
            "    - outcome: containment\n",
            '    - outcome: save\n      workflows: [retention]\n      unit: "20.00"\n'
            "    - outcome: containment\n",
        ),
    )
    contract, issues = load_contract_text(text)
    assert issues == []
    assert contract is not None


def test_save_fee_handled_by_bots_too_conflicts_with_containment() -> None:
    text = edit(
        (
            "  general: {default: true}\n",
            "  general: {default: true}\n  retention: {queues: [cancellations]}\n",
        ),
        (
            "    - outcome: containment\n",
            '    - outcome: save\n      workflows: [retention]\n      unit: "20.00"\n'
            "    - outcome: containment  # <-\n",
        ),
    )
    issues = issues_of(text)
    assert [(i.code, i.line) for i in issues] == [("double_count", marked_line(text))]
    assert "bot" in issues[0].message and "retention" in issues[0].message


def test_many_rule_problems_are_reported_at_once_in_file_order() -> None:
    text = edit(
        ("onboarding: {queues: [onboarding]}", "onboarding: {queues: [onboarding, chargebacks]}"),
        ("workflows: [onboarding, general]", "workflows: [onboarding, generl]"),
        ('  minimum: "500.00"', '  minimum: "10000.00"'),
        (
            '{metric: csat_top2box, target: ">= 0.80", weight: "0.5"}',
            '{metric: csat_top2box, target: ">= 0.80", weight: "0.4"}',
        ),
        ('  - {from: 2026-07-01, base_fee: "0.50"', '  - {from: 2026-01-01, base_fee: "0.50"'),
    )
    issues = issues_of(text)
    codes = [i.code for i in issues]
    assert codes == [
        "overlapping_queues",
        "unknown_workflow",
        "min_above_max",
        "weights_pool",
        "unsorted_glide_path",
    ]
    lines = [i.line for i in issues]
    assert lines == sorted(lines)


def test_model_errors_do_not_stop_the_rules() -> None:
    """One run shows the problems of both stages, in file order (issue 15: the rules used to wait for a fix)."""
    text = edit(
        ("onboarding: {queues: [onboarding]}", "onboarding: {queues: [onboarding, chargebacks]}"),
        ('  minimum: "500.00"', '  minimun: "500.00"'),
    )
    issues = issues_of(text)
    assert [i.code for i in issues] == ["overlapping_queues", "unknown_key"]
    assert [i.line for i in issues] == sorted(i.line for i in issues)


def test_check_works_on_a_contract_built_in_code() -> None:
    contract = load_contract_text(BASE)[0]
    assert contract is not None
    changed = contract.model_copy(
        update={"workflows": {**contract.workflows, "extra": contract.workflows["onboarding"]}}
    )
    issues = check(changed)
    assert [i.code for i in issues] == ["overlapping_queues"]
    assert issues[0].line is None and issues[0].file is None
    assert issues[0].field == "workflows.extra.queues[0]"
    assert isinstance(changed, Contract)


def test_double_count_message_names_both_lines() -> None:
    text = edit(("workflows: [onboarding, general]", "workflows: [onboarding, disputes]"))
    issue = next(i for i in issues_of(text) if i.code == "double_count")
    first_line = text.splitlines().index("    - outcome: resolution") + 1
    assert f"line {first_line}" in issue.message
    assert "disputes" in issue.message
    assert issue.field == "pricing.outcome_fees[1].workflows"
