"""Problems found in a contract, as values with a place (ARCHITECTURE.md, principle 5).

An `Issue` names the file, the 1-based line, the dotted key path and a short snake_case code, and says how
to fix it. Every check collects issues instead of raising, so that a file with five problems shows five.
`Locator` turns a key path such as ``("pricing", "outcome_fees", 1, "workflows")`` into the line it was
written on; the loader builds one from the YAML, and `Locator()` (no file) serves contracts built in code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from outcomes.errors import OutcomesError

Level = Literal["error", "warning"]
Path = tuple[str | int, ...]

# Every code an issue can carry, with a one-line meaning. docs/contract.md documents each one (a test checks).
CODES: dict[str, str] = {
    # reading the file
    "unreadable": "the file cannot be read (missing, a directory, not UTF-8)",
    "yaml_syntax": "the file is not valid YAML",
    "duplicate_key": "a key is written twice in one mapping",
    "empty_file": "the file holds no contract",
    "not_a_mapping": "the file's top level is not a mapping of keys",
    "too_large": "the file is larger than a contract file may be (limits.MAX_BYTES)",
    "too_deep": "mappings and lists nested deeper than a contract needs (limits.MAX_DEPTH)",
    "too_many_nodes": "more keys, values and list items than a contract needs, aliases expanded (limits.MAX_NODES)",
    "recursive_alias": "an alias used inside the node it names",
    # keys and values (from the models)
    "unknown_key": "a key the contract language does not have at this place",
    "missing_key": "a required key is absent",
    "bad_value": "a value of the wrong type or form",
    "bad_target": 'a target that is not an expression such as ">= 0.80", or out of the metric\'s range',
    "out_of_range": "a number outside its allowed range",
    "negative_amount": "a money amount below zero",
    "too_precise": "an amount with more decimal places than the currency's minor unit allows",
    "bad_id": "an id (contract, workflow, outcome) outside the safe alphabet",
    "empty": "an empty list or mapping where at least one entry is needed",
    "duplicate_entry": "the same name listed twice in one list",
    "misplaced_key": "a key that does not apply here (e.g. `window` on a metric without one)",
    # workflows and outcomes
    "overlapping_queues": "one queue in the queue lists of two workflows",
    "multiple_defaults": "more than one workflow with `default: true`",
    "empty_workflow": "a workflow with no queues that is not the default: no contact can reach it",
    "containment_not_bot": "a containment outcome with `handled_by` other than [bot]",
    # pricing
    "unknown_outcome": "a name that is not defined under `outcomes`",
    "unknown_workflow": "a name that is not defined under `workflows`",
    "unit_and_prices": "a fee line with both `unit` and `prices`",
    "missing_price": "a fee line with none of `unit`, `prices` or `package`",
    "package_and_price": "a fee line with `package` and also `unit` or `prices`",
    "tiers_without_prices": "a fee line with `tiers` but no `prices`",
    "prices_without_tiers": "a fee line with `prices` but no `tiers`",
    "unsorted_tiers": "tier bounds `up_to` that do not strictly increase",
    "tier_after_open": "a tier after an open-ended tier (one without `up_to`)",
    "last_tier_bounded": "a last tier with `up_to`: counts above it would have no price",
    "unverifiable_outcome": "a fee for a resolution or containment outcome without `repeat_contact`",
    "double_count": "one contact could count for two outcome fee lines",
    "min_above_max": "`pricing.minimum` greater than `pricing.maximum`",
    "no_comparison": "a lift requirement with neither `control` nor `baseline`",
    "same_segments": "a lift requirement whose control is the pilot itself",
    "method_needs": "a lift requirement whose `method` needs a `control` or `baseline` it does not give",
    "bad_period": "a period label that is not a period of the contract (YYYY-MM or YYYY-Qn)",
    # term, versions, glide path
    "bad_term": "a term that ends before it starts",
    "missing_effective_from": "a version after the first without `effective_from` (a warning, see docs)",
    "bad_effective_from": "`effective_from` not a period start inside the term",
    "unsorted_glide_path": "glide-path `from` dates that do not strictly increase",
    "glide_path_gap": "a glide path whose first phase starts after this version starts",
    "glide_path_mid_period": "a glide-path phase starting inside a period (it applies from the next one)",
    "glide_phase_outside_term": "a glide-path phase starting after the term ends",
    # metrics, service levels, automation
    "unknown_metric": "a metric name not defined in METRICS.md",
    "circular_metric": "a service level on a metric computed from the settled total",
    "missing_outcome": "a metric or section that needs an outcome of a kind the contract does not define",
    "weights_pool": "service-level weights that do not sum to `pool`",
    "empty_trigger": "a review trigger with neither `above` nor `below`",
    "always_fires": "a review trigger whose `above` is below its `below`: every value fires it",
}


@dataclass(frozen=True)
class Issue:
    level: Level
    code: str
    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    field: str | None = None  # dotted key path, e.g. "pricing.outcome_fees[0].prices"
    hint: str | None = None  # how to fix it

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    @property
    def place(self) -> str:
        """'contract.yaml:42', 'contract.yaml', 'line 42' or ''."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        if self.file:
            return self.file
        return f"line {self.line}" if self.line else ""

    def __str__(self) -> str:
        parts = [p for p in (self.place, self.field) if p]
        head = "".join(f"{p}: " for p in parts)
        level = "warning: " if self.level == "warning" else ""
        text = f"{head}{level}{self.message} [{self.code}]"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "hint": self.hint,
        }


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """In file order (issues without a line last), without exact duplicates."""
    seen: set[Issue] = set()
    unique = []
    for issue in issues:
        if issue not in seen:
            seen.add(issue)
            unique.append(issue)
    return sorted(unique, key=lambda i: (i.line is None, i.line or 0))


class ContractError(OutcomesError):
    """Raised by `read_contract` when a contract has errors; `.issues` holds all of them (warnings too)."""

    code = "contract_invalid"

    def __init__(self, issues: Sequence[Issue], file: str | None = None) -> None:
        self.issues = list(issues)
        self.file = file or next((i.file for i in self.issues if i.file), None)
        n = len(errors(self.issues))
        head = f"{self.file or 'contract'}: {n} error{'s' if n != 1 else ''}"
        super().__init__("\n".join([head, *(str(i) for i in self.issues)]))

    @property
    def errors(self) -> list[Issue]:
        return errors(self.issues)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: Sequence[str | int]) -> str:
    """("pricing", "outcome_fees", 0, "prices") -> 'pricing.outcome_fees[0].prices'."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


class Locator:
    """Where each key and list item of a contract was written.

    `lines` maps a key path to the 1-based line of that key (or list item). `line(path)` answers for the
    deepest part of the path that was written: a key the file leaves out (a default, or a missing key) is
    placed on its parent's line.
    """

    def __init__(self, file: str | None = None, lines: Mapping[Path, int] | None = None) -> None:
        self.file = file
        self.lines: dict[Path, int] = dict(lines or {})

    def has(self, path: Sequence[str | int]) -> bool:
        return tuple(path) in self.lines

    def line(self, path: Sequence[str | int]) -> int | None:
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]

    __call__ = line

    def issue(
        self,
        code: str,
        path: Sequence[str | int],
        message: str,
        hint: str | None = None,
        *,
        level: Level = "error",
        at: Sequence[str | int] | None = None,
    ) -> Issue:
        """An issue about the key at `path`, placed on the line of `at` (default: `path`)."""
        if code not in CODES:
            raise ValueError(f"unregistered issue code {code!r}: add it to outcomes.contract.issues.CODES")
        return Issue(
            level=level,
            code=code,
            message=message,
            file=self.file,
            line=self.line(path if at is None else at),
            field=format_path(path) or None,
            hint=hint,
        )
