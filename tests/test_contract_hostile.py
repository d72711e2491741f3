"""Hostile contract files (issue 15, item 2): each is refused with an issue on its line, never a traceback, and
never costs more than 1 s of CPU or 200 MB, whatever the file holds."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.contract import load_contract, load_contract_text
from outcomes.contract.issues import CODES
from outcomes.contract.limits import MAX_BYTES, MAX_DEPTH, MAX_NODES, LimitExceeded, load_plain
from outcomes.contract.loader import parse_yaml

CONTRACT = """\
contract: worked-example
version: 1
parties: {buyer: Example Retail, provider: Acme BPO}
currency: GBP
timezone: Europe/London
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: zendesk

workflows:
  refunds: {queues: [refunds]}
  tech:    {queues: [tech, devices]}
  general: {default: true}

outcomes:
  resolution:
    kind: resolution
    handled_by: [agent]
    repeat_contact: {within: 5d, same: [customer], channels: any}
    reopened: exclude
    min_csat: 3
  containment:
    kind: containment
    repeat_contact: {within: 48h, same: [customer], channels: any}

pricing:
  base_fee: "2000.00"
  outcome_fees:
    - outcome: resolution
      workflows: [refunds]
      tiers: volume
      prices: [{up_to: 3, unit: "8.00"}, {unit: "6.00"}]
    - outcome: resolution
      workflows: [tech, general]
      unit: "4.00"
    - outcome: containment
      unit: "1.25"
  maximum: "2030.00"
"""

CPU_SECONDS = 1.0
PEAK_BYTES = 200 * 1024 * 1024


def edit(*pairs: tuple[str, str]) -> str:
    text = CONTRACT
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def codes(text: str) -> list[tuple[str, int | None]]:
    return [(i.code, i.line) for i in load_contract_text(text, "c.yaml")[1]]


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def cost(text: str) -> tuple[float, int, list]:
    """CPU seconds of one validation, then its peak of traced memory (a second run, under tracemalloc)."""
    start = time.process_time()
    contract, issues = load_contract_text(text, "c.yaml")
    seconds = time.process_time() - start
    tracemalloc.start()
    try:
        load_contract_text(text, "c.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak, issues


# ----------------------------------------------------------------------------------- the reader's limits


def test_billion_laughs_is_refused_on_the_alias_that_expands_too_far_without_building_it():
    text = billion_laughs()
    assert len(text.encode()) == 342
    seconds, peak, issues = cost(text)
    assert [(i.code, i.line) for i in issues] == [("too_many_nodes", 4)]
    assert "*c" in issues[0].message and f"{MAX_NODES:,}" in issues[0].message
    assert seconds < CPU_SECONDS and peak < 20 * 1024 * 1024


def test_an_alias_inside_the_node_it_names_is_refused():
    assert codes("contract: &a [1, *a]\n") == [("recursive_alias", 1)]


def test_aliases_within_the_limit_still_work():
    text = edit(("  tech:    {queues: [tech, devices]}", "  tech:    {queues: &q [tech, devices]}"))
    text += "billable_providers: *q\n"
    contract, issues = load_contract_text(text)
    assert contract is not None, issues
    assert contract.billable_providers == ["tech", "devices"]


def test_a_thousand_levels_of_nesting_is_one_issue_not_a_recursion_error():
    text = "contract: " + "[" * 1000 + "]" * 1000 + "\n"
    seconds, _, issues = cost(text)
    assert [(i.code, i.line) for i in issues] == [("too_deep", 1)]
    assert seconds < CPU_SECONDS


def test_the_other_yaml_files_refuse_deep_brackets_as_they_are_read():
    """Connector mappings go through `load_plain`: the same scanner, the same limit, before any node is built."""
    start = time.process_time()
    with pytest.raises(LimitExceeded) as refused:
        load_plain("queue_map: " + "[" * 1000 + "]" * 1000 + "\n")
    column = refused.value.problem_mark.column
    assert refused.value.code == "too_deep" and column == len("queue_map: ") + MAX_DEPTH
    assert time.process_time() - start < CPU_SECONDS
    nested = load_plain("a: " + "[" * 20 + "1" + "]" * 20 + "\n")["a"]
    for _ in range(19):
        nested = nested[0]
    assert nested == [1]


def test_a_5000_digit_integer_is_a_bad_value_on_its_line():
    text = edit(("version: 1", "version: " + "9" * 5000))
    issues = load_contract_text(text)[1]
    assert [(i.code, i.line, i.field) for i in issues] == [("bad_value", 2, "version")]
    assert len(str(issues[0])) < 400  # the number is not echoed whole


@pytest.mark.parametrize("value", ["-_", "+_"])
def test_a_sign_and_an_underscore_is_text_not_a_crash(value):
    """hypothesis found `-_`: YAML's int pattern takes it, ruamel's int constructor raised IndexError."""
    data, _, issues = parse_yaml(f"a: {value}\n")
    assert issues == [] and data == {"a": value}


def test_a_5000_digit_decimal_is_a_bad_value_on_its_line():
    text = edit(('base_fee: "2000.00"', "base_fee: 0." + "1" * 5000))
    assert codes(text) == [("bad_value", 27)]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(CONTRACT + "#" + "x" * MAX_BYTES + "\n")
    contract, issues = load_contract(big)
    assert contract is None and [i.code for i in issues] == ["too_large"]


def test_the_largest_file_the_limits_allow_validates_within_a_second():
    workflows = "\n".join(f"  w{i}: {{queues: [q{i}a, q{i}b, q{i}c]}}" for i in range(500))
    text = edit(("workflows:\n", "workflows:\n" + workflows + "\n"))
    seconds, peak, issues = cost(text)
    assert "too_many_nodes" not in [i.code for i in issues]
    assert seconds < CPU_SECONDS and peak < PEAK_BYTES


# ---------------------------------------------------------------------------------------- amounts, money


def test_a_base_fee_of_1e30_is_refused_at_validate():
    issues = load_contract_text(edit(('base_fee: "2000.00"', 'base_fee: "1e30"')))[1]
    assert [(i.code, i.line, i.field) for i in issues] == [("bad_value", 27, "pricing.base_fee")]
    assert "too large" in issues[0].message


@pytest.mark.parametrize("value", ['"NaN"', ".nan", ".inf", '"-Infinity"', '"0.00000000001"'])
def test_non_finite_and_absurdly_fine_amounts_are_refused(value):
    assert codes(edit(('base_fee: "2000.00"', f"base_fee: {value}"))) == [("bad_value", 27)]


def test_money_has_at_most_the_currencys_minor_unit():
    assert codes(edit(('base_fee: "2000.00"', 'base_fee: "2000.005"'))) == [("too_precise", 27)]
    jpy = edit(("currency: GBP", "currency: JPY"), ('base_fee: "2000.00"', 'base_fee: "2000.5"'))
    assert codes(jpy) == [("too_precise", 27)]
    kwd = edit(("currency: GBP", "currency: KWD"), ('base_fee: "2000.00"', 'base_fee: "2000.005"'))
    assert codes(kwd) == []


def test_a_unit_price_may_be_four_places_finer_than_the_minor_unit():
    assert codes(edit(('unit: "4.00"', 'unit: "4.0025"'))) == []
    assert codes(edit(('unit: "4.00"', 'unit: "4.0000001"'))) == [("too_precise", 35)]


@pytest.mark.parametrize("code", ["XYZ", "usd", "XAU", "XTS", "XXX"])
def test_currency_is_an_iso_4217_code_with_a_minor_unit(code):
    issues = load_contract_text(edit(("currency: GBP", f"currency: {code}")))[1]
    assert [(i.code, i.line, i.field) for i in issues] == [("bad_value", 4, "currency")]


def test_rounding_uses_the_same_currency_table_as_validation():
    from iso4217 import Currency

    from outcomes.contract.currency import minor_unit as iso
    from outcomes.pricing.money import minor_unit

    for c in Currency:
        assert minor_unit(c.code) == (2 if iso(c.code) is None else iso(c.code)), c.code
    assert (minor_unit("JPY"), minor_unit("KWD"), minor_unit("CLF")) == (0, 3, 4)


# ------------------------------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    "value",
    ["'../../x'", "a/b", "'.hidden'", "'acme\u200bnorthwind'", "'acme northwind'", "аcme", "'x\\\\y'"],
)
def test_ids_outside_the_safe_alphabet_are_refused(value):
    issues = load_contract_text(edit(("contract: worked-example", f"contract: {value}")))[1]
    assert [(i.code, i.line, i.field) for i in issues] == [("bad_id", 1, "contract")]


def test_workflow_and_outcome_names_are_ids_too():
    text = edit(
        ("  general: {default: true}", '  "../general": {default: true}'),
        ("  containment:\n    kind", "  \"cont\u200bainment\":\n    kind"),
    )
    found = load_contract_text(text)[1]
    assert ("bad_id", 13) in [(i.code, i.line) for i in found]
    assert ("bad_id", 22) in [(i.code, i.line) for i in found]


def test_safe_ids_are_accepted():
    assert codes(edit(("contract: worked-example", "contract: Acme.North-wind_2"))) == []


def test_a_chart_is_never_written_outside_its_folder(tmp_path):
    from outcomes.analysis.charts import write_charts
    from outcomes.contract.names import UnsafeName

    card = {"contract": "../../escaped", "period": "2026-10", "workflow": None, "groups": [{"group": "x"}]}
    folder = tmp_path / "a" / "b" / "charts"
    with pytest.raises(UnsafeName):
        write_charts(card, folder)
    assert not any(p.name.endswith(".svg") for p in tmp_path.rglob("*"))


def test_a_mapping_name_cannot_reach_outside_the_built_ins():
    from outcomes.connectors import MappingError, resolve

    with pytest.raises(MappingError):
        resolve("../builtin/zendesk")


# --------------------------------------------------------------------------- every stage, every problem


SEVEN = edit(
    ("contract: worked-example", "contract: ../../x"),  # 1 bad_id (rules)
    ("  tech:    {queues: [tech, devices]}", "  tech:    {queues: [tech, refunds]}"),  # 2 overlapping (rules)
    ("within: 5d", "within: 5 days"),  # 3 bad duration (models)
    ("    min_csat: 3", "    min_csat: 9"),  # 4 out of range (models)
    ('base_fee: "2000.00"', 'base_fee: "1e30"'),  # 5 too large (models)
    ("    - outcome: resolution\n      workflows: [refunds]", "    - outcome: resolutoin\n      workflows: [refunds]"),  # 6
    ('unit: "1.25"', 'unit: "1.2500001"'),  # 7 too precise (rules)
)


def test_validate_reports_seven_planted_errors_of_every_stage_at_once_in_file_order():
    issues = load_contract_text(SEVEN, "seven.yaml")[1]
    assert [(i.code, i.line) for i in issues] == [
        ("bad_id", 1),
        ("overlapping_queues", 12),
        ("bad_value", 19),
        ("out_of_range", 21),
        ("bad_value", 27),
        ("unknown_outcome", 29),
        ("too_precise", 37),
    ]


def test_the_cli_prints_all_seven_and_exits_1(tmp_path):
    from typer.testing import CliRunner

    from outcomes.cli import app

    f = tmp_path / "seven.yaml"
    f.write_text(SEVEN)
    r = CliRunner().invoke(app, ["validate", str(f), "--json"])
    assert r.exit_code == 1
    assert len(json.loads(r.stdout)["issues"]) == 7


def test_a_rule_never_reports_on_a_value_the_models_refused():
    """A refused `within` is unknown to the rules: no rule guesses about it (e.g. calls it unverifiable)."""
    issues = load_contract_text(edit(("within: 5d", "within: soon")))[1]
    assert [(i.code, i.field) for i in issues] == [("bad_value", "outcomes.resolution.repeat_contact.within")]


# ------------------------------------------------------------------------- property: never a traceback

HOSTILE = [
    '"1e30"', "-1", ".nan", ".inf", "9" * 5000, "'../../x'", "'\u200b'", "[", "{", "&a", "*a", "*zz",
    "!!python/object/apply:os.system ['true']", "null", "~", "2026-02-30", "''", "[[[[[[[[[[]]]]]]]]]]",
    "{a: {b: {c: {d: [1, 2, {e: f}]}}}}", "<<: {x: 1}", "? [a, b]\n: c", "|\n  text", ">-\n  folded",
    "0x1F", "0o17", "1_000", "+.5", "1e-99999", "2026-13-01", "!!binary aGVsbG8=", "!custom x", "\t",
    "'" + "x" * 2000 + "'", "yes", "NO", "@", "`", "%YAML 1.1", "---", "...",
]

lines_of_contract = CONTRACT.splitlines()


@st.composite
def mutated(draw) -> str:
    lines = list(lines_of_contract)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "insert", "indent", "bytes"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(HOSTILE))}"
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(HOSTILE)))
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        elif op == "bytes":
            text = lines[i]
            k = draw(st.integers(0, len(text)))
            lines[i] = text[:k] + draw(st.text(max_size=8)) + text[k:]
    return "\n".join(lines) + "\n"


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=40,
)
contract_keys = st.sampled_from(
    ["contract", "version", "parties", "currency", "timezone", "term", "period", "system_of_record",
     "workflows", "outcomes", "pricing", "service_levels", "glide_path", "automation", "audit"]
)  # fmt: skip
generated = st.dictionaries(contract_keys, json_values, max_size=15).map(json.dumps) | json_values.map(json.dumps)


def _holds(text: str) -> None:
    assert len(text.encode("utf-8", "surrogatepass")) < 100 * 1024
    seconds, peak, issues = cost(text)
    assert seconds < CPU_SECONDS, f"{seconds:.2f} s"
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB"
    for issue in issues:
        assert issue.code in CODES and issue.message and str(issue)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_contracts_never_raise_and_stay_within_the_limits(text):
    _holds(text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated)
def test_generated_documents_never_raise_and_stay_within_the_limits(text):
    _holds(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_in_a_file_never_raise(tmp_path_factory, data):
    f: Path = tmp_path_factory.mktemp("bytes") / "c.yaml"
    f.write_bytes(data)
    contract, issues = load_contract(f)
    assert contract is None or not [i for i in issues if i.is_error]
    assert all(i.code in CODES for i in issues)


def test_a_mapping_file_has_the_same_limits(tmp_path):
    from outcomes.connectors import MappingError, load_mapping

    f = tmp_path / "laughs.yaml"
    f.write_text(billion_laughs())
    with pytest.raises(MappingError, match="aliases are expanded"):
        load_mapping(f)
