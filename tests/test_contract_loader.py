"""Reading contract files: the shared examples, YAML and model errors with their lines, all at once."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from outcomes.contract import (
    Contract,
    ContractError,
    Issue,
    load_contract,
    load_contract_text,
    read_contract,
)
from outcomes.contract.issues import CODES

SHARED = Path(__file__).resolve().parents[2] / "shared"  # the project's shared documents, beside the repo
WORKED = SHARED / "examples" / "worked-month" / "contract.yaml"
MARK = "# <-"

needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="shared project documents not present")


def marked_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if MARK in line]


def contract_md_example() -> str:
    text = (SHARED / "CONTRACT.md").read_text(encoding="utf-8")
    match = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert match, "CONTRACT.md has no ```yaml block"
    return match.group(1)


MINIMAL = """\
contract: tiny
version: 1
parties: {buyer: B, provider: P}
currency: EUR
timezone: Europe/Paris
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows: {general: {default: true}}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d}
pricing:
  outcome_fees:
    - outcome: resolution
      unit: "4.00"
"""


# ------------------------------------------------------------------------------------- valid contracts


@needs_shared
def test_worked_month_contract_has_no_issues() -> None:
    contract, issues = load_contract(WORKED)
    assert issues == []
    assert isinstance(contract, Contract)
    assert contract.pricing.outcome_fees[0].prices[0].unit == Decimal("8.00")
    assert read_contract(WORKED) == contract


@needs_shared
def test_contract_md_example_has_no_errors() -> None:
    """CONTRACT.md's complete example validates. It is `version: 3` without `effective_from`, which the Keys
    section requires on later versions: the one warning that says so is its only issue."""
    contract, issues = load_contract_text(contract_md_example(), "CONTRACT.md")
    assert [(i.code, i.level) for i in issues] == [("missing_effective_from", "warning")]
    assert contract is not None
    assert contract.version == 3
    assert [g.from_.isoformat() for g in contract.glide_path] == ["2026-01-01", "2026-07-01", "2027-01-01"]
    assert str(contract.service_levels.measures[2].target) == "<= 0.05"


@needs_shared
def test_contract_md_example_with_effective_from_has_zero_issues() -> None:
    text = contract_md_example().replace("version: 3", "version: 3\neffective_from: 2026-01-01", 1)
    contract, issues = load_contract_text(text, "CONTRACT.md")
    assert issues == []
    assert contract is not None


def test_minimal_contract() -> None:
    contract, issues = load_contract_text(MINIMAL)
    assert issues == []
    assert contract is not None
    assert contract.outcomes["resolution"].handlers() == ("agent",)


def test_unquoted_numbers_are_read_exactly() -> None:
    text = MINIMAL.replace('unit: "4.00"', "unit: 98765432109.876543").replace(
        "pricing:\n", "pricing:\n  base_fee: 7.50\n  maximum: 1e6\n"
    )
    contract, issues = load_contract_text(text)
    assert issues == []
    assert contract.pricing.outcome_fees[0].unit == Decimal("98765432109.876543")  # 17 digits: no float has them
    assert str(contract.pricing.outcome_fees[0].unit) == "98765432109.876543"
    assert contract.pricing.base_fee == Decimal("7.50")
    assert contract.pricing.maximum == Decimal("1000000")


def test_quoted_and_unquoted_dates_are_the_same() -> None:
    text = MINIMAL.replace(
        "term: {start: 2026-01-01, end: 2026-12-31}", 'term: {start: "2026-01-01", end: 2026-12-31}'
    )
    assert load_contract_text(text)[0] == load_contract_text(MINIMAL)[0]


# ----------------------------------------------------------------------------------- YAML-level problems


def test_yaml_syntax_error_names_its_line() -> None:
    text = MINIMAL.replace(
        "workflows: {general: {default: true}}", "workflows: {general: {default: true}  # <-\n"
    )
    contract, issues = load_contract_text(text, "broken.yaml")
    assert contract is None
    assert len(issues) == 1
    issue = issues[0]
    assert issue.code == "yaml_syntax" and issue.level == "error" and issue.file == "broken.yaml"
    assert issue.line is not None and marked_lines(text)[0] <= issue.line <= marked_lines(text)[0] + 2
    assert issue.hint


def test_yaml_syntax_error_bad_indentation_line() -> None:
    text = "contract: x\nversion: 1\nterm:\n  start: 2026-01-01\n end: 2026-12-31  # <-\n"
    issues = load_contract_text(text)[1]
    assert [(i.code, i.line) for i in issues] == [("yaml_syntax", marked_lines(text)[0])]


def test_tab_indentation_is_explained() -> None:
    text = "contract: x\nterm:\n\tstart: 2026-01-01\n"
    issue = load_contract_text(text)[1][0]
    assert issue.code == "yaml_syntax" and issue.line == 3
    assert "tab" in issue.hint


def test_duplicate_key() -> None:
    text = MINIMAL + "currency: USD  # <-\n"
    issues = load_contract_text(text)[1]
    assert [(i.code, i.line) for i in issues] == [("duplicate_key", marked_lines(text)[0])]


def test_empty_file_and_not_a_mapping() -> None:
    assert [i.code for i in load_contract_text("# nothing here\n")[1]] == ["empty_file"]
    assert [i.code for i in load_contract_text("- a\n- b\n")[1]] == ["not_a_mapping"]


def test_unreadable_file(tmp_path: Path) -> None:
    contract, issues = load_contract(tmp_path / "nope.yaml")
    assert contract is None
    assert [i.code for i in issues] == ["unreadable"]
    assert issues[0].file == str(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("contract: caf\xe9\n".encode("latin-1"))
    assert [i.code for i in load_contract(bad)[1]] == ["unreadable"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode("utf-8"))
    assert load_contract(path)[1] == []


# -------------------------------------------------------------------------------- key and value problems


def test_unknown_key_with_did_you_mean() -> None:
    text = MINIMAL.replace('      unit: "4.00"\n', '      unit: "4.00"\n      workflow: [general]  # <-\n')
    contract, issues = load_contract_text(text, "c.yaml")
    assert contract is None
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.code, issue.line, issue.field) == (
        "unknown_key",
        marked_lines(text)[0],
        "pricing.outcome_fees[0].workflow",
    )
    assert "did you mean 'workflows'?" in issue.hint
    for key in ("outcome", "workflows", "tiers", "prices", "unit"):
        assert key in issue.hint
    assert str(issue).startswith(f"c.yaml:{issue.line}: pricing.outcome_fees[0].workflow: unknown key")


def test_unknown_top_level_key_without_a_close_match() -> None:
    text = MINIMAL + "colour: blue  # <-\n"
    issue = load_contract_text(text)[1][0]
    assert (issue.code, issue.line, issue.field) == ("unknown_key", marked_lines(text)[0], "colour")
    assert "did you mean" not in issue.hint and "system_of_record" in issue.hint


def test_missing_key_is_placed_on_its_parent() -> None:
    text = MINIMAL.replace("term: {start: 2026-01-01, end: 2026-12-31}", "term:  # <-\n  start: 2026-01-01")
    issues = load_contract_text(text)[1]
    assert [(i.code, i.line, i.field) for i in issues] == [("missing_key", marked_lines(text)[0], "term.end")]
    assert "end" in issues[0].hint


def test_glide_path_from_is_an_alias() -> None:
    text = MINIMAL + "glide_path:\n  - {frm: 2026-01-01}  # <-\n  - {from: 2026-13-01}  # <-\n"
    issues = load_contract_text(text)[1]
    found = [(i.code, i.field, i.line) for i in issues]
    first, second = marked_lines(text)
    assert found == [
        ("missing_key", "glide_path[0].from", first),
        ("unknown_key", "glide_path[0].frm", first),
        ("bad_value", "glide_path[1].from", second),
    ]
    assert "did you mean 'from'?" in issues[1].hint
    ok = MINIMAL + 'glide_path:\n  - {from: 2026-01-01, outcome_fees: "0.5"}\n'
    contract, issues = load_contract_text(ok)
    assert issues == [] and contract.glide_path[0].from_.isoformat() == "2026-01-01"


def test_every_model_problem_is_reported_at_once_on_its_line() -> None:
    text = """\
contract: many
version: 0                                    # <- 1 out_of_range
parties: {buyer: B}                           # <- 2 missing_key parties.provider
currency: usd                                 # <- 3 bad_value
timezone: Mars/Olympus                        # <- 4 bad_value
term: {start: 2026-01-01, end: 2026-02-30}    # <- 5 bad_value (no such day)
period: mnth                                  # <- 6 bad_value, did you mean month
system_of_record: crm
workflows:
  general: {default: maybe}                   # <- 7 bad_value
outcomes:
  resolution:
    kind: resolution
    handled_by: [agnt]                        # <- 8 bad_value
    repeat_contact: {within: 7}               # <- 9 bad_value (a duration needs a unit)
pricing:
  bse_fee: "100.00"                           # <- 10 unknown_key
  outcome_fees:
    - outcome: resolution
      unit: seven                             # <- 11 bad_value
service_levels:
  at_risk: "0.1"
  measures:
    - {metric: fcr_rate, target: "> 0.8", weight: "1"}   # <- 12 bad_target
"""
    contract, issues = load_contract_text(text)
    assert contract is None
    expected = {(n, line) for n, line in enumerate(marked_lines(text), 1)}
    assert len(issues) == len(expected) == 12
    assert [i.line for i in issues] == [line for _, line in sorted(expected)]
    assert [i.code for i in issues] == [
        "out_of_range",
        "missing_key",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "unknown_key",
        "bad_value",
        "bad_target",
    ]
    by_field = {i.field: i for i in issues}
    assert "did you mean 'month'?" in by_field["period"].hint
    assert "7d" in by_field["outcomes.resolution.repeat_contact.within"].hint
    assert "ISO 4217" in by_field["currency"].hint
    assert "did you mean 'base_fee'?" in by_field["pricing.bse_fee"].hint
    assert by_field["pricing.outcome_fees[0].unit"].hint.startswith("write a decimal")


# -------------------------------------------------------------------------------------- issues as values


def test_issue_text_and_dict() -> None:
    issue = Issue(
        "error",
        "unknown_workflow",
        "workflow 'x' is not defined",
        "contract.yaml",
        42,
        "pricing.outcome_fees[1].workflows",
        "define it under `workflows`",
    )
    assert str(issue) == (
        "contract.yaml:42: pricing.outcome_fees[1].workflows: workflow 'x' is not defined "
        "[unknown_workflow]\n  hint: define it under `workflows`"
    )
    assert issue.to_dict() == {
        "level": "error",
        "code": "unknown_workflow",
        "message": "workflow 'x' is not defined",
        "file": "contract.yaml",
        "line": 42,
        "field": "pricing.outcome_fees[1].workflows",
        "hint": "define it under `workflows`",
    }
    warning = Issue("warning", "empty_workflow", "no queues", None, None, "workflows.spare")
    assert str(warning) == "workflows.spare: warning: no queues [empty_workflow]"


def test_read_contract_raises_with_every_issue(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(
        MINIMAL.replace("period: month", "period: weekly").replace("currency: EUR", "currency: X")
    )
    with pytest.raises(ContractError) as info:
        read_contract(path)
    err = info.value
    assert [i.code for i in err.issues] == ["bad_value", "bad_value"]
    assert [i.line for i in err.issues] == [4, 7]
    assert f"{path}: 2 errors" in str(err)
    assert f"{path}:7: period:" in str(err)
    assert len(err.errors) == 2


def test_read_contract_accepts_warnings(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(
        MINIMAL.replace(
            "workflows: {general: {default: true}}", "workflows: {general: {default: true}, spare: {}}"
        )
    )
    contract, issues = load_contract(path)
    assert [i.code for i in issues] == ["empty_workflow"]
    assert read_contract(path) == contract


def test_unquoted_target_gets_a_quoting_hint() -> None:
    text = (
        MINIMAL + 'service_levels:\n  at_risk: "0.1"\n  measures:\n'
        "    - metric: fcr_rate\n      target: >= 0.8  # <-\n"
    )
    issues = load_contract_text(text)[1]
    assert [(i.code, i.line) for i in issues] == [("yaml_syntax", marked_lines(text)[0])]
    assert '">= 0.80"' in issues[0].hint


def test_unquoted_number_where_text_or_target_is_expected_is_shown_as_written() -> None:
    text = (
        MINIMAL + 'service_levels:\n  at_risk: "0.1"\n  measures:\n'
        '    - {metric: fcr_rate, target: 0.80, weight: "1"}\n'
    )
    issue = load_contract_text(text)[1][0]
    assert issue.code == "bad_target"
    assert "got 0.80" in issue.message and "Decimal" not in issue.message


def test_no_edit_of_a_valid_file_crashes_the_loader() -> None:
    """Delete any line, or give any key an odd value: the loader answers with placed issues, never raises."""
    lines = MINIMAL.splitlines()
    odd = ["[]", "{}", "null", "x", "-1", "0", '"1.5"', "2026-02-30", "true", "[x]", "{a: 1}", "1e400"]
    for n, line in enumerate(lines):
        variants = [lines[:n] + lines[n + 1 :]]
        key = re.match(r"^(\s*(?:- )?\w+:)", line)
        if key:
            variants += [[*lines[:n], f"{key.group(1)} {v}", *lines[n + 1 :]] for v in odd]
        for variant in variants:
            contract, issues = load_contract_text("\n".join(variant) + "\n")
            assert (contract is None) == any(i.is_error for i in issues)
            for issue in issues:
                assert issue.code in CODES
                assert issue.line is not None and 1 <= issue.line <= len(lines), str(issue)
