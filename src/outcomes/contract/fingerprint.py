"""The canonical form of a contract and its hash.

Two files that mean the same give the same canonical form: key order, comments, quoting, `"7.5"` versus
`"7.50"`, `168h` versus `7d`, the order of set-like lists (queues, handlers, workflow names) and an omitted
default versus the default written out make no difference. Any change of meaning (a price, a date, a
window) changes it. The form is JSON with sorted keys and compact separators, encoded as UTF-8; the hash is
``sha256:`` + the hex digest of those bytes. Settlements record it (CONTRACT.md, "fingerprint").

The model is not changed: normalization happens on its `model_dump(mode="json", by_alias=True)`.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from .metrics import DEFAULT_INFLUENCE_WINDOW_SECONDS, DEFAULT_THRESHOLD_SECONDS
from .schema import Audit, Contract, Target, default_agent_hours, duration_text


def decimal_text(d: Decimal) -> str:
    """Plain decimal text without trailing zeros: 7.50 -> '7.5', 1E+3 -> '1000', -0.00 -> '0'."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "", "-") else text


def _overlay(value: Any, dumped: Any) -> Any:
    """The dumped data with every Decimal (and Target) of the model written in normalized form."""
    if isinstance(value, Target):
        return f"{value.op} {decimal_text(value.value)}"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        out = dict(dumped)
        for name, info in type(value).model_fields.items():
            key = info.alias or name
            if key in out:
                out[key] = _overlay(getattr(value, name), out[key])
        return out
    if isinstance(value, dict) and isinstance(dumped, dict):
        return {k: _overlay(value[k], v) if k in value else v for k, v in dumped.items()}
    if isinstance(value, (list, tuple)) and isinstance(dumped, list) and len(value) == len(dumped):
        return [_overlay(v, d) for v, d in zip(value, dumped, strict=True)]
    return dumped


def _fill_defaults(data: dict[str, Any], contract: Contract) -> dict[str, Any]:
    """Write out what an omitted key means, and sort lists whose order means nothing."""
    data["effective_from"] = contract.starts.isoformat()
    if data["parties"].get("auditor") is None:
        # the optional auditor, when absent, is left out: contracts written before it keep their hash
        data["parties"].pop("auditor", None)
    if data.get("billable_providers") is not None:
        data["billable_providers"] = sorted(data["billable_providers"])
    if data.get("audit") is None:
        data["audit"] = _overlay(Audit(), Audit().model_dump(mode="json", by_alias=True))
    for name, wf in data["workflows"].items():
        wf["queues"] = sorted(contract.workflows[name].queues)
    for name, out in data["outcomes"].items():
        outcome = contract.outcomes[name]
        out["handled_by"] = sorted(outcome.handlers())
        if out.get("repeat_contact") is not None:
            out["repeat_contact"]["same"] = sorted(out["repeat_contact"]["same"])
    for fee, out in zip(contract.pricing.outcome_fees, data["pricing"]["outcome_fees"], strict=True):
        out["workflows"] = sorted(contract.fee_workflows(fee))
        # a package and a tier's flat fee, when absent, are left out: contracts written before them keep
        # their hash
        if out.get("package") is None:
            out.pop("package", None)
        for tier in out.get("prices") or []:
            if tier.get("flat") is None:
                tier.pop("flat", None)
    # the pricing models beyond CONTRACT.md (seats, volume fees), when absent, are left out: contracts written
    # before them keep their hash
    if data["pricing"].get("seats") is None:
        data["pricing"].pop("seats", None)
    elif data["pricing"]["seats"].get("agent_hours") is None:
        data["pricing"]["seats"]["agent_hours"] = decimal_text(default_agent_hours(contract.period))
    if not data["pricing"].get("volume_fees"):
        data["pricing"].pop("volume_fees", None)
    for vfee, out in zip(contract.pricing.volume_fees, data["pricing"].get("volume_fees", []), strict=True):
        out["workflows"] = sorted(contract.fee_workflows(vfee))
        out["handled_by"] = sorted(set(vfee.handled_by))
    vs = data["pricing"].get("value_share")
    lift = vs.get("require_significant_lift") if vs is not None else None
    if isinstance(lift, dict) and lift.get("method") is None:
        # the automatic method, when not written, is left out: contracts written before it keep their hash
        lift.pop("method", None)
    if vs is not None and vs["metric"] == "revenue_influenced" and vs.get("window") is None:
        vs["window"] = duration_text(DEFAULT_INFLUENCE_WINDOW_SECONDS)
    if data.get("service_levels") is not None:
        for m in data["service_levels"]["measures"]:
            if m.get("workflows") is not None:
                m["workflows"] = sorted(m["workflows"])
            if m["metric"] == "service_level" and m.get("threshold") is None:
                m["threshold"] = duration_text(DEFAULT_THRESHOLD_SECONDS)
            if m["metric"] == "revenue_influenced" and m.get("window") is None:
                m["window"] = duration_text(DEFAULT_INFLUENCE_WINDOW_SECONDS)
    return data


def canonical_data(contract: Contract) -> dict[str, Any]:
    dumped = contract.model_dump(mode="json", by_alias=True)
    return _fill_defaults(_overlay(contract, dumped), contract)


def canonical_form(contract: Contract) -> str:
    """JSON with sorted keys, compact separators and every default filled in (see the module docstring)."""
    return json.dumps(canonical_data(contract), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def contract_hash(contract: Contract) -> str:
    """'sha256:' + the hex SHA-256 of the canonical form's UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(canonical_form(contract).encode("utf-8")).hexdigest()
