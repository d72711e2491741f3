"""Read a contract file: YAML with line numbers -> Pydantic models -> cross-field rules -> issues.

A staged pipeline of pure steps, each returning what it made and the issues it found (as beancount's
loader does): parse (syntax errors with their line), validate the models (every Pydantic error at once,
mapped back to the line of the offending key), then `rules.check` (only when the models validated).

Numbers are read exactly: an unquoted `7.50` becomes Decimal("7.50"), never a binary float, so money
written without quotes keeps every digit. Invalid dates such as `2026-02-30` reach the models as text and
are reported there, with their line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from decimal import Decimal, InvalidOperation
from os import PathLike
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.functional_validators import BeforeValidator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from . import rules
from .issues import ContractError, Issue, Locator, Path, errors, format_path, sort_issues
from .limits import (
    MAX_BYTES,
    MAX_DEPTH,
    TOO_DEEP,
    TOO_DEEP_HINT,
    LimitedComposer,
    LimitedRoundTripScanner,
    LimitExceeded,
    number_too_long,
)
from .schema import Contract, _parse_target, _to_decimal, parse_duration

DEFAULT_NAME = "contract.yaml"


# ---------------------------------------------------------------------------------------------- parsing


class _ExactConstructor(RoundTripConstructor):
    """Round-trip constructor that reads floats as exact Decimals and leaves impossible dates as text."""

    def construct_yaml_int(self, node: Any) -> Any:
        # a number longer than any contract needs stays text: the models refuse it on its line (Python would
        # refuse to read more than 4,300 digits with a ValueError)
        if number_too_long(str(node.value)):
            return str(node.value)
        try:
            return super().construct_yaml_int(node)
        except (IndexError, ValueError):
            # ruamel's resolver takes `-_` or `+_` for an int its constructor cannot read: it stays text
            return str(node.value)

    def construct_yaml_float(self, node: Any) -> Any:
        text = str(node.value).replace("_", "")
        if number_too_long(text):
            return str(node.value)
        try:
            value = Decimal(text)
        except InvalidOperation:
            return super().construct_yaml_float(node)  # .inf, .nan: the models reject them with a message
        return value if value.is_finite() else super().construct_yaml_float(node)

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return str(node.value)  # e.g. 2026-02-30: reported by the models, on its line


_ExactConstructor.add_constructor("tag:yaml.org,2002:int", _ExactConstructor.construct_yaml_int)
_ExactConstructor.add_constructor("tag:yaml.org,2002:float", _ExactConstructor.construct_yaml_float)
_ExactConstructor.add_constructor("tag:yaml.org,2002:timestamp", _ExactConstructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _ExactConstructor
    yaml.Scanner = LimitedRoundTripScanner
    yaml.Composer = LimitedComposer
    yaml.max_depth = MAX_DEPTH
    return yaml


def _plain(node: Any, path: Path, lines: dict[Path, int]) -> Any:
    """Plain Python data from ruamel's round-trip nodes, recording the line of every key and item."""
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            k = _plain(key, (), {})
            if isinstance(k, list):
                k = tuple(k)
            child = (*path, k)
            try:
                lines[child] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):  # a key merged in with `<<:` has no position of its own
                lines[child] = lines.get(path, (node.lc.line or 0) + 1)
            out[k] = _plain(value, child, lines)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            child = (*path, i)
            try:
                lines[child] = node.lc.item(i)[0] + 1
            except (KeyError, TypeError):
                lines[child] = lines.get(path, (node.lc.line or 0) + 1)
            items.append(_plain(value, child, lines))
        return items
    if isinstance(node, TaggedScalar):
        return str(node.value)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dt.datetime):
        return dt.datetime(
            node.year,
            node.month,
            node.day,
            node.hour,
            node.minute,
            node.second,
            node.microsecond,
            node.tzinfo,
        )
    return node  # date, Decimal


_UNQUOTED_TARGET = re.compile(r":\s*[<>]=")


def _yaml_issue(exc: YAMLError, file: str, text: str = "") -> Issue:
    if isinstance(exc, LimitExceeded):
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        return Issue("error", exc.code, str(exc.problem), file, line, None, exc.hint)
    if isinstance(exc, MaxDepthExceededError):
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        return Issue("error", "too_deep", TOO_DEEP, file, line, None, TOO_DEEP_HINT)
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        if isinstance(exc, DuplicateKeyError):
            first = exc.context_mark.line + 1 if exc.context_mark is not None else None
            where = f" (the mapping starts on line {first})" if first else ""
            return Issue(
                "error",
                "duplicate_key",
                f"{problem}{where}",
                file,
                line,
                None,
                "write each key once in a mapping; merge the two entries",
            )
        context = f", {exc.context}" if exc.context else ""
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context += f" that started on line {exc.context_mark.line + 1}"
        hint = "check the indentation (spaces, not tabs) and that brackets and quotes are closed"
        source = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        if "\\t" in problem or "tab" in problem.lower():
            hint = "indent with spaces: YAML does not allow tabs"
        elif _UNQUOTED_TARGET.search(source):
            hint = 'quote targets: YAML reads a leading > as a text block; write target: ">= 0.80"'
        return Issue("error", "yaml_syntax", f"{problem}{context}", file, line, None, hint)
    return Issue(
        "error",
        "yaml_syntax",
        str(exc).strip() or "invalid YAML",
        file,
        None,
        None,
        "check that the file is valid YAML",
    )


def parse_yaml(text: str, filename: str = DEFAULT_NAME) -> tuple[Any, Locator, list[Issue]]:
    """The file's data as plain Python values, where each key and item was written, and syntax issues."""
    lines: dict[Path, int] = {}
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return None, Locator(filename, lines), [_too_large(filename)]
    try:
        node = _yaml().load(text)
    except YAMLError as exc:
        return None, Locator(filename, lines), [_yaml_issue(exc, filename, text)]
    if isinstance(node, CommentedMap) and node.lc.line is not None:
        lines[()] = node.lc.line + 1
    data = _plain(node, (), lines)
    return data, Locator(filename, lines), []


def _too_large(file: str) -> Issue:
    return Issue(
        "error",
        "too_large",
        f"the file is larger than {MAX_BYTES:,} bytes, the most a contract file may be",
        file,
        None,
        None,
        "a contract is a few kilobytes: check that this is the contract file",
    )


# ------------------------------------------------------------------------------- model errors to issues


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _field_type(info: Any) -> Any:
    return typing.Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _type_at(loc: tuple[Any, ...]) -> Any:
    """The declared type of the value at a Pydantic error location (None when it leaves the models)."""
    tp: Any = Contract
    for part in loc:
        tp = _strip_optional(tp)
        while typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            tp = _strip_optional(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = _fields_by_key(tp).get(str(part))
            if info is None:
                return None
            tp = _field_type(info)
        elif origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    return tp


def _kind(tp: Any) -> str:
    """'decimal', 'duration', 'target', 'date', 'int', 'bool', 'str', 'literal', 'list', 'dict', 'model'."""
    tp = _strip_optional(tp)
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for m in meta:
            if isinstance(m, BeforeValidator):
                if m.func is _to_decimal:
                    return "decimal"
                if m.func is parse_duration:
                    return "duration"
                if m.func is _parse_target:
                    return "target"
        return _kind(base)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "literal"
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    if isinstance(tp, type):
        if issubclass(tp, BaseModel):
            return "model"
        for kind, cls in (("bool", bool), ("int", int), ("date", dt.date), ("str", str)):
            if issubclass(tp, cls):
                return kind
    return "other"


def _model_keys(tp: Any) -> list[str]:
    tp = _strip_optional(tp)
    while typing.get_origin(tp) is typing.Annotated:
        tp = _strip_optional(typing.get_args(tp)[0])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(_fields_by_key(tp))
    return []


_KIND_HINTS = {
    "decimal": 'write a decimal number; quote money, e.g. "7.50"',
    "duration": "write a whole number and a unit (s, m, h or d; elapsed time), e.g. 7d, 72h, 30m, 20s",
    "target": 'write an operator and a number, quoted, e.g. ">= 0.80" or "<= 0.05"',
    "date": "write a date as YYYY-MM-DD, e.g. 2026-01-01",
    "int": "write a whole number",
    "bool": "write true or false",
    "str": 'write text; quote it if YAML reads it as a number, date or boolean, e.g. "2026"',
    "list": "write a list, e.g. [a, b]",
    "dict": "write a mapping of names to entries",
}

_KIND_WHAT = {
    "decimal": 'a quoted decimal such as "7.50"',
    "duration": "a duration such as 7d or 72h",
    "target": 'a target such as ">= 0.80"',
    "date": "a date such as 2026-01-01",
    "int": "a whole number",
    "bool": "true or false",
    "str": "text",
    "list": "a list",
    "dict": "a mapping of names to entries",
}

_KEY_HINTS = {
    "currency": "use a three-letter ISO 4217 code in capitals, e.g. USD, EUR, GBP",
    "timezone": "use an IANA time zone name, e.g. America/New_York or Europe/London",
    "same": "write same: [customer] or same: [customer, workflow]",
    "min_csat": "min_csat is a CSAT score on the 1-5 scale, e.g. 2",
    "up_to": "up_to is an inclusive count of outcomes (1 or more); the last tier has no up_to",
    "version": "versions start at 1 and every amendment bumps it",
    "periods": "earn_back.periods is a number of consecutive periods, 1 or more",
    "contract": "the contract id: text, stable across amendments, e.g. acme-northwind",
    "system_of_record": "the `source` value of the interactions that count for billing, e.g. buyer_crm",
}


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, choices: list[str]) -> str | None:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return match[0] if match else None


def _where(parent: tuple[Any, ...]) -> str:
    return f"`{format_path(parent)}`" if parent else "the top level"


def _issue_from_error(err: Any, locate: Locator) -> Issue:
    typ = err["type"]
    loc = tuple(err["loc"])
    value = err.get("input")

    if typ == "extra_forbidden":
        key, parent = loc[-1], loc[:-1]
        allowed = _model_keys(_type_at(parent))
        guess = _suggest(str(key), allowed)
        hint = f"did you mean {guess!r}? " if guess else ""
        hint += f"keys allowed under {_where(parent)}: {', '.join(allowed)}" if allowed else "remove it"
        message = f"unknown key {str(key)!r} under {_where(parent)}"
        if guess:
            message += f" (did you mean {guess!r}?)"
        return locate.issue("unknown_key", loc, message, hint)

    if typ == "missing":
        key, parent = loc[-1], loc[:-1]
        tp = _type_at(loc)
        kind = _kind(tp)
        what = _KIND_WHAT.get(kind)
        if kind == "model":
            what = f"a mapping with keys {', '.join(_model_keys(tp))}"
        elif kind == "literal":
            what = "one of " + ", ".join(str(a) for a in typing.get_args(_strip_optional(tp)))
        hint = f"add `{key}:` under {_where(parent)}" + (f" ({what})" if what else "")
        if str(key) in _KEY_HINTS:
            hint += f"; {_KEY_HINTS[str(key)]}"
        return locate.issue(
            "missing_key", loc, f"missing required key {str(key)!r} under {_where(parent)}", hint
        )

    if loc and loc[-1] == "[key]":
        path = loc[:-1]
        return locate.issue(
            "bad_value", path, f"the name {_show(path[-1])} must be text", 'quote the name, e.g. "2026":'
        )

    # A value error: find the written key it belongs to (a Target's `value` is part of `target`).
    path = loc
    for i in range(1, len(loc)):
        if _kind(_type_at(loc[:i])) == "target" and not locate.has(loc[: i + 1]):
            path = loc[:i]
            break
    tp = _type_at(path)
    kind = _kind(tp)
    message = str(err.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if isinstance(value, Decimal):  # an unquoted number, read exactly: show it as written
        message = message.replace(repr(value), str(value))
    if (
        typ != "value_error"
        and value is not None
        and not isinstance(value, (dict, list))
        and " got " not in message
    ):
        message += f", got {_show(value)}"
    key = next((p for p in reversed(path) if isinstance(p, str)), "")

    code = "bad_value"
    if kind == "target":
        code = "bad_target"
    if typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        code = "out_of_range"

    hint = _KIND_HINTS.get(kind)
    if typ == "string_pattern_mismatch":
        message = f"{_show(value)} does not have the required form"
    elif typ == "model_type":
        message = f"expected a mapping, got {_show(value)}"
    if kind == "literal":
        choices = [str(a) for a in typing.get_args(_strip_optional(tp))]
        guess = _suggest(str(value), choices) if isinstance(value, str) else None
        hint = (f"did you mean {guess!r}? " if guess else "") + f"use one of: {', '.join(choices)}"
    elif kind == "list" and typ != "list_type":
        inner = typing.get_args(_strip_optional(tp))
        if inner and _kind(inner[0]) == "literal":
            hint = f"list entries are one of: {', '.join(str(a) for a in typing.get_args(inner[0]))}"
    elif kind == "model":
        hint = f"write a mapping with keys: {', '.join(_model_keys(tp))}"
    elif typ == "string_too_short":
        message = "must not be empty"
    if key in _KEY_HINTS:
        hint = _KEY_HINTS[key]
    return locate.issue(code, path, message, hint)


def validation_issues(exc: ValidationError, locate: Locator) -> list[Issue]:
    """Every error of a Pydantic ValidationError as an Issue on the line of its key."""
    return sort_issues(_issue_from_error(err, locate) for err in exc.errors())


# ----------------------------------------------------------------------- rules over what did validate
#
# When the models refuse some values, the rules still run over everything else, so that one `validate` shows
# every problem of every stage. Each refused value is replaced by a placeholder of its type so that the models
# accept the rest, and the placeholder is then swapped for `_UNKNOWN`: any use of it (a comparison, a test, a
# loop, text) raises `_Unknown.Used`, and a rule that needs it says nothing. A rule never reports on a value
# the models already refused, and never guesses what it should have been.


class _Unknown:
    """A value the models refused: using it in any way raises `Used`."""

    class Used(Exception):
        pass

    def _used(self, *args: Any, **kwargs: Any) -> Any:
        raise _Unknown.Used

    def __getattr__(self, name: str) -> Any:
        raise _Unknown.Used

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _used  # type: ignore[assignment]
    __hash__ = __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = _used  # type: ignore[assignment]
    __str__ = __repr__ = __format__ = __int__ = __float__ = __index__ = _used  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __neg__ = __abs__ = _used  # type: ignore[assignment]


_UNKNOWN = _Unknown()
_ROUNDS = 4  # placeholder rounds: a placeholder model can itself need placeholders


def _placeholder(tp: Any, key: Any) -> tuple[bool, Any]:
    """(True, a value the models accept for type `tp`), or (False, None) when there is none."""
    kind = _kind(tp)
    if kind == "model":
        base = _strip_optional(tp)
        while typing.get_origin(base) is typing.Annotated:
            base = _strip_optional(typing.get_args(base)[0])
        out = {}
        for name, info in _fields_by_key(base).items():
            if info.is_required():
                ok, value = _placeholder(_field_type(info), name)
                if not ok:
                    return False, None
                out[name] = value
        return True, out
    if kind == "int":
        low = next((getattr(m, "ge", None) for m in getattr(tp, "__metadata__", ()) if hasattr(m, "ge")), None)
        return True, low if low is not None else 1
    if kind == "literal":
        return True, typing.get_args(_strip_optional(tp))[0]
    if kind == "str":
        return True, {"timezone": "UTC", "currency": "USD"}.get(str(key), "x")
    values = {
        "decimal": "0",
        "duration": "1d",
        "target": ">= 0",
        "date": dt.date(2000, 1, 1),
        "bool": False,
        "list": [],
        "dict": {},
    }
    return (True, values[kind]) if kind in values else (False, None)


def _written_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The key a model error is about as written in the file (a target's `value` is part of `target`)."""
    for i in range(1, len(loc)):
        if _kind(_type_at(loc[:i])) == "target":
            return loc[:i]
    return loc


def _container(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _patch(data: dict[str, Any], errs: list[Any], unknown: set[tuple[Any, ...]], quiet: set[tuple[Any, ...]]) -> bool:
    """Put a placeholder where each error is (or drop an unknown key); False when an error has no place."""
    for err in errs:
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            parent = _container(data, loc[:-1])
            if isinstance(parent, dict):
                parent.pop(loc[-1], None)
            quiet.add(loc[:-1])
            continue
        if loc and loc[-1] == "[key]":
            loc = loc[:-2]  # a name that is not text: the whole mapping of names is unknown
        path = _written_path(loc)
        if not path:
            return False
        parent = _container(data, path[:-1])
        ok, value = _placeholder(_type_at(path), path[-1])
        if not ok or not isinstance(parent, (dict, list)):
            return False
        if isinstance(parent, list) and not (isinstance(path[-1], int) and path[-1] < len(parent)):
            return False
        parent[path[-1]] = value
        unknown.add(path)
    return True


def _poison(contract: Contract, path: tuple[Any, ...]) -> None:
    """Replace the value at `path` (keys as written) in the validated contract by `_UNKNOWN`."""
    node: Any = contract
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, BaseModel):
            names = {(info.alias or name): name for name, info in type(node).model_fields.items()}
            if part not in names:
                return
            if last:
                object.__setattr__(node, names[part], _UNKNOWN)
                return
            node = getattr(node, names[part])
        elif isinstance(node, (dict, list)):
            try:
                if last:
                    node[part] = _UNKNOWN
                    return
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return
        else:
            return


def _touches(field: str | None, paths: set[tuple[Any, ...]]) -> bool:
    return field is not None and any(
        field == format_path(p) or field.startswith(format_path(p) + ".") or field.startswith(format_path(p) + "[")
        for p in paths
        if p
    )


def _rules_over_the_rest(data: dict[str, Any], errs: list[Any], locate: Locator) -> list[Issue]:
    """The rules' issues about the parts of a contract whose models refused some values."""
    import copy

    patched = copy.deepcopy(data)
    unknown: set[tuple[Any, ...]] = set()
    quiet: set[tuple[Any, ...]] = set()
    contract = None
    for _ in range(_ROUNDS):
        if not _patch(patched, errs, unknown, quiet):
            return []
        try:
            contract = Contract.model_validate(patched)
            break
        except ValidationError as exc:
            errs = exc.errors()
    if contract is None:
        return []
    for path in sorted(unknown, key=len):
        _poison(contract, path)
    found: list[Issue] = []
    for rule in rules.RULES:
        try:
            found.extend(rule(contract, locate))
        except Exception:  # noqa: BLE001 - the rule needed a refused value (or a placeholder): it has nothing to say
            continue
    quiet_fields = {format_path(p) for p in quiet}
    return [
        i
        for i in found
        if not _touches(i.field, unknown) and (i.field or "") not in quiet_fields
    ]


# ----------------------------------------------------------------------------------------- the pipeline


def validate_data(data: Any, locate: Locator) -> tuple[Contract | None, list[Issue]]:
    """Models, then (when they validated) the cross-field rules. The contract is None if any error."""
    if data is None:
        return None, [
            locate.issue(
                "empty_file",
                (),
                "the file holds no contract",
                "start from the complete example in docs/contract.md",
            )
        ]
    if not isinstance(data, dict):
        return None, [
            locate.issue(
                "not_a_mapping",
                (),
                f"the top level must be a mapping of keys, got {type(data).__name__}",
                "write `key: value` lines, e.g. `contract: my-id`",
            )
        ]
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        found = validation_issues(exc, locate) + _rules_over_the_rest(data, exc.errors(), locate)
        return None, sort_issues(found)
    issues = sort_issues(rules.check(contract, locate))
    return (None if errors(issues) else contract), issues


def load_contract_text(text: str, filename: str = DEFAULT_NAME) -> tuple[Contract | None, list[Issue]]:
    """Parse and validate contract text: the contract (None if any issue is an error) and all issues."""
    data, locate, issues = parse_yaml(text, filename)
    if issues:
        return None, issues
    return validate_data(data, locate)


def load_contract(path: str | PathLike[str]) -> tuple[Contract | None, list[Issue]]:
    """Read and validate a contract file. Never raises for a bad file: problems come back as issues."""
    name = str(path)
    try:
        with open(path, "rb") as fh:  # never more than the limit, whatever the file holds
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None, [_too_large(name)]
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [
            Issue(
                "error",
                "unreadable",
                f"the file is not UTF-8 text ({exc.reason})",
                name,
                None,
                None,
                "save the file as UTF-8",
            )
        ]
    except OSError as exc:
        return None, [
            Issue(
                "error",
                "unreadable",
                f"cannot read the file: {exc.strerror or exc}",
                name,
                None,
                None,
                "check the path",
            )
        ]
    return load_contract_text(text, name)


def read_contract(path: str | PathLike[str]) -> Contract:
    """The contract at `path`, or ContractError carrying every issue when it has any error."""
    contract, issues = load_contract(path)
    if contract is None:
        raise ContractError(issues, str(path))
    return contract
