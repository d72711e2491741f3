"""Every command, hostile arguments (issue 15, item 6): one clean message and a non-zero exit, never a traceback.

The commands are found by walking the Typer app, so a new command is walked as soon as it is registered. Each
parameter of each command is given, one at a time, values a user could type by mistake or on purpose: periods
that do not exist, ids with path characters or invisible characters, missing and unwritable paths, empty files,
folders where files belong. Everything else is a valid value against a workspace with a settled month and an
open dispute, so that each hostile value reaches as deep into the command as it can.

A known problem is `error: ...` and exit 1 (cli/console.py `report`); a usage error is click's `Error: ...`
and exit 2. A bug is "internal error: ..." and exit 70: the walk fails on it, as on any traceback.
"""

from __future__ import annotations

import enum
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import SCENARIO_NOW, WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()


def _commands() -> list[tuple[tuple[str, ...], typing.Any]]:
    found = []

    def walk(cmd: typing.Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            found.append((path, cmd))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()


def _base_type(cmd: typing.Any, name: str) -> typing.Any:
    hints = typing.get_type_hints(cmd.callback, include_extras=True)
    tp = hints.get(name, str)
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) and len(args) == 1:
        tp = args[0]
    return tp


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A workspace with the worked month ingested and settled, one dispute open; and hostile files."""
    from outcomes.contract import read_contract
    from outcomes.workspace import init_workspace

    root = tmp_path_factory.mktemp("hostile")
    ws = init_workspace(root / "ws")
    contract_file = WORKED_MONTH / "contract.yaml"
    ws.ledger().add_contract(read_contract(contract_file), contract_file.read_text(), str(contract_file))
    ws.facts().ingest("interactions", WORKED_MONTH / "interactions.csv", now=SCENARIO_NOW)
    ws.close()
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-10", "-w", str(root / "ws")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["dispute", "open", "1", "2", "--reason", "r", "--party", "buyer", "-w", str(root / "ws")],
    )
    assert r.exit_code == 0, r.output
    empty = root / "empty.csv"
    empty.write_text("")
    a_file = root / "a-file.txt"
    a_file.write_text("not a folder\n")
    folder = root / "a-folder"
    folder.mkdir()
    empty_ws = root / "not-a-workspace"
    empty_ws.mkdir()
    return {
        "root": root,
        "ws": root / "ws",
        "contract": contract_file,
        "data": WORKED_MONTH / "interactions.csv",
        "empty": empty,
        "file": a_file,
        "folder": folder,
        "not_ws": empty_ws,
    }


# What a valid value of each parameter is, by name (a parameter not listed gets one by its type).
def _valid(path: tuple[str, ...], name: str, tp: typing.Any, w: dict, tmp: Path) -> str | None:
    if name == "file":
        if path[0] in ("validate", "contract"):
            return str(w["contract"])
        return str(w["data"])
    table = {
        "contract_id": "worked-example",
        "contract": "worked-example",
        "period": "2026-10",
        "settlement": "1",
        "line": "2",
        "dispute": "1",
        "reason": "a reason",
        "note": "a note",
        "party": "buyer" if path[-1] in ("open", "answer") else "provider",
        "mapping": "zendesk",
        "pilot": "queue=refunds",
        "folder": str(tmp / "export"),
        "out_dir": str(tmp / "generated"),
        "directory": str(tmp / "new-ws"),
        "workspace": str(w["ws"]),
        "helpdesk": "zendesk",
        "since": "2026-10-01",
    }
    if name in table:
        return table[name]
    return None  # optional parameters are left out


def _hostile(name: str, tp: typing.Any, w: dict) -> list[str]:
    """Values of a parameter that no command should accept."""
    missing = str(w["root"] / "no-such-file.csv")
    under_a_file = str(w["file"] / "x")
    ids = ["../../x", "x\u200by", "", "nosuch", "x" * 3000]
    if name == "workspace":
        return [str(w["root"] / "nowhere"), str(w["file"]), str(w["not_ws"])]
    if name in ("folder", "out_dir", "directory", "chart"):
        return [str(w["file"]), under_a_file, "/proc/outcomes-cannot-write-here"]
    if name in ("file", "right_channels"):
        return [missing, str(w["folder"]), str(w["empty"])]
    if name in ("period", "baseline", "start"):
        return ["2026-13", "2026-Q5", "", "99999-01", "../x"]
    if name in ("contract_id", "contract", "dispute", "settlement"):
        return ids + (["worked-example/2026-13", "9999", "0"] if name in ("settlement", "dispute") else [])
    if name == "mapping":
        return ["../builtin/zendesk", missing, str(w["folder"]), str(w["empty"]).replace(".csv", ".yaml")]
    if name == "line":
        return ["0", "999", "x"]
    if name == "since":
        return ["2026-13-01", "", "x", "../x", "2026-10-01T25:00"]
    if name == "timezone":
        return ["Mars/Olympus", "", "../../etc/localtime"]
    if name == "fmt":
        return ["xls"]
    if name == "param":
        return ["noequals", "=x", "nosuch=1"]
    if name in ("pilot", "control"):
        return ["bad", "queue=", "nosuch=1"]
    if name in ("state", "detector", "metric", "workflow"):
        return ["nosuch", "../x"]
    if name == "party":
        return ["nobody"]
    if name == "amount":
        return ["1e30", "NaN", "-5", "0", "abc"]
    if name == "ids":
        return [""]
    if name == "confidence":
        return ["2", "nan", "0"]
    if name == "gaming_rate":
        return ["2", "-1", "nan"]
    if name in ("reason", "note"):
        return [""]
    if tp is int:
        return ["-1", "x", "9" * 30]
    if tp is float:
        return ["nan", "x"]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return ["nosuch"]
    return []


#: (command, parameter, value) a command may accept: the value is not wrong there, whatever it looks like.
ACCEPTED = {
    ("explain", "sample", "9" * 30),  # a sample larger than the line: the whole line is shown
    ("quarantine list", "limit", "9" * 30),  # more than there are: every row
    ("generate", "seed", "9" * 30),  # any whole number is a seed
    ("dispute open", "ids", ""),  # no ids: the dispute is about the line as a whole
    ("dispute accept", "note", ""),  # accepting needs no note
}


def _cases() -> list[tuple[tuple[str, ...], str]]:
    out = []
    for path, cmd in COMMANDS:
        for p in cmd.params:
            if p.name in ("as_json", "as_csv", "help") or getattr(p, "is_flag", False):
                continue
            out.append((path, p.name))
    return out


CASES = _cases()


def test_the_walk_covers_every_command():
    nothing_to_give = {" ".join(p) for p, c in COMMANDS if all(q.name in ("as_json", "as_csv") for q in c.params)}
    walked = {" ".join(path) for path, _ in CASES} | nothing_to_give
    assert walked == {" ".join(p) for p, _ in COMMANDS}
    assert {"settle", "validate", "ingest interactions", "dispute open", "scorecard"} <= walked


def _run(args: list[str]) -> tuple[int, str]:
    r = runner.invoke(app, args, env={"OUTCOMES_TRACEBACK": "0", "OUTCOMES_WORKSPACE": ""})
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        return 70, f"internal error: an exception escaped the app: {r.exception!r}"
    return r.exit_code, r.output


@pytest.mark.parametrize(("path", "name"), CASES, ids=[f"{' '.join(p)}:{n}" for p, n in CASES])
def test_hostile_arguments_get_one_clean_message_and_a_non_zero_exit(world, tmp_path, path, name):
    cmd = dict(COMMANDS)[path]
    params = {p.name: p for p in cmd.params}
    target = params[name]
    tp = _base_type(cmd, name)
    bad_values = _hostile(name, tp, world)
    if not bad_values:
        pytest.skip(f"no hostile value is defined for {name} ({tp}): free text")
    failures = []
    for bad in bad_values:
        if (" ".join(path), name, bad) in ACCEPTED:
            continue
        args: list[str] = list(path)
        positional: list[str] = []
        options: list[str] = []
        for p in cmd.params:
            if p.name in ("as_json", "as_csv") or getattr(p, "is_flag", False):
                continue
            value = bad if p.name == name else _valid(path, p.name, _base_type(cmd, p.name), world, tmp_path)
            if value is None:
                continue
            if p.param_type_name == "argument":
                positional.append(value)
            else:
                options += [p.opts[0], value]
        if path == ("generate",) and name != "contacts":
            options += ["--contacts", "50"]
        code, output = _run(args + options + ["--", *positional] if positional else args + options)
        lines = [ln for ln in output.splitlines() if ln.strip()]
        problem = None
        if code == 0:
            problem = "accepted (exit 0)"
        elif code == 70 or "internal error" in output:
            problem = "internal error (a bug)"
        elif "Traceback" in output:
            problem = "a traceback"
        elif code not in (1, 2):
            problem = f"exit code {code}"
        elif not lines or len(lines) > 40:
            problem = "no message" if not lines else f"{len(lines)} lines of output"
        if problem:
            failures.append(f"{' '.join(path)} {target.opts[0]}={bad!r}: {problem}\n    " + "\n    ".join(lines[-6:]))
    assert not failures, "\n".join(failures)
