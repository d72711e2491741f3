"""docs/contract.md documents every key of the models, every issue code and every metric name."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from outcomes.contract import issues as issues_module
from outcomes.contract import loader, rules, schema

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "contract.md"
METRICS_MD = ROOT.parent / "shared" / "METRICS.md"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def models() -> list[type[BaseModel]]:
    found = [
        obj
        for _, obj in inspect.getmembers(schema, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__ == schema.__name__ and obj.model_fields
    ]
    assert schema.Contract in found and schema.GlidePhase in found
    return found


def section_for(model: type[BaseModel], text: str) -> str:
    """The text under the heading that names the model, up to the next heading of the same or higher level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+)\s", line)
        if m and re.search(rf"\b{model.__name__}\b", line):
            level = len(m.group(1))
            end = next(
                (
                    j
                    for j in range(i + 1, len(lines))
                    if (n := re.match(r"^(#+)\s", lines[j])) and len(n.group(1)) <= level
                ),
                len(lines),
            )
            return "\n".join(lines[i:end])
    raise AssertionError(f"docs/contract.md has no heading naming {model.__name__}")


@pytest.mark.parametrize("model", models(), ids=lambda m: m.__name__)
def test_every_model_field_is_documented_in_its_section(model: type[BaseModel]) -> None:
    section = section_for(model, doc_text())
    missing = [
        (info.alias or name)
        for name, info in model.model_fields.items()
        if f"`{info.alias or name}`" not in section
    ]
    assert not missing, f"{model.__name__}: keys not documented in its section of docs/contract.md: {missing}"


def test_every_issue_code_is_documented() -> None:
    text = doc_text()
    missing = [code for code in issues_module.CODES if f"`{code}`" not in text]
    assert not missing, f"issue codes not documented in docs/contract.md: {missing}"


def test_every_code_used_is_registered() -> None:
    used: set[str] = set()
    for module in (rules, loader):
        source = inspect.getsource(module)
        used |= set(re.findall(r"issue\(\s*\"([a-z_]+)\"", source))
        used |= set(re.findall(r"Issue\(\s*\"(?:error|warning)\",\s*\"([a-z_]+)\"", source))
    assert used, "no codes found: has the way issues are made changed?"
    assert used <= set(issues_module.CODES), used - set(issues_module.CODES)


def test_every_metric_name_is_documented() -> None:
    text = doc_text()
    missing = [name for name in sorted(rules.METRIC_NAMES) if f"`{name}`" not in text]
    assert not missing, missing


@pytest.mark.skipif(not METRICS_MD.exists(), reason="METRICS.md not present")
def test_metric_names_match_metrics_md() -> None:
    names = set(re.findall(r"^\|\s*`([a-z0-9_]+)`", METRICS_MD.read_text(encoding="utf-8"), re.M))
    from outcomes.contract.metrics import METRICS_MD_METRICS

    assert names == set(METRICS_MD_METRICS)
    assert set(rules.METRIC_NAMES) - names == {"qa_auto_mean", "negative_end_rate", "sentiment_shift_mean",
                                                "churn_signal_rate", "upsell_after_resolution_rate"}
