"""Two commands on one workspace at once: one waits (or says the workspace is busy), never a traceback; a
settle killed mid-way leaves the store as it was, and `outcomes doctor` cleans what it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from conftest import WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()
CLI = [sys.executable, "-c", "import sys; from outcomes.cli.app import app; sys.argv[0] = 'outcomes'; app()"]


def ok(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr


@pytest.fixture
def ws(tmp_path):
    ws = str(tmp_path / "ws")
    ok("init", ws)
    ok("contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", ws)
    ok("ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", ws)
    return tmp_path / "ws"


HOLD = (
    "import sys, time; from pathlib import Path; from outcomes.workspace import find_workspace; "
    "w = find_workspace(Path(sys.argv[1]), command='outcomes settle'); w.duckdb_facts(); "
    "print('held', flush=True); time.sleep(float(sys.argv[2])); w.close()"
)


def hold(ws, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(ws), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_command_waits_for_the_workspace_then_runs(ws):
    holder = hold(ws, 2)
    started = time.monotonic()
    r = cli("status", "-w", str(ws))
    waited = time.monotonic() - started
    holder.wait(10)
    assert r.returncode == 0, r.stderr
    clean(r.stderr)
    assert waited >= 1.0  # it waited for the holder rather than failing on DuckDB's file lock
    assert "worked-example" in r.stdout


def test_after_wait_seconds_it_says_who_holds_the_workspace(ws):
    holder = hold(ws, 5)
    try:
        r = cli("--wait", "0.5", "settle", "worked-example", "-p", "2026-10", "-w", str(ws))
    finally:
        holder.kill()
        holder.wait(10)
    assert r.returncode == 1
    clean(r.stderr)
    assert "workspace busy: outcomes settle since " in r.stderr
    assert f"(process {holder.pid})" in r.stderr
    # the ledger was not touched
    assert json.loads(ok("settlements", "-w", str(ws), "--json")) == []


def test_ledger_only_commands_do_not_wait(ws):
    ok("settle", "worked-example", "-p", "2026-10", "-w", str(ws))
    holder = hold(ws, 5)
    try:
        r = cli("--wait", "0", "show", "1", "-w", str(ws))
        d = cli("--wait", "0", "dispute", "open", "1", "2", "--party", "buyer", "--reason", "r", "-w", str(ws))
    finally:
        holder.kill()
        holder.wait(10)
    assert r.returncode == 0 and "2030.00" in r.stdout, r.stderr
    assert d.returncode == 0, d.stderr


def test_two_settles_at_once_end_with_one_settlement_and_no_traceback(ws):
    first = start("settle", "worked-example", "-p", "2026-10", "-w", str(ws), "--json")
    second = start("settle", "worked-example", "-p", "2026-10", "-w", str(ws), "--json")
    results = [p.communicate(timeout=180) + (p.returncode,) for p in (first, second)]
    for _out, err, _code in results:
        clean(err)
    assert sorted(code for *_x, code in results) == [0, 1]
    loser = next(err for _out, err, code in results if code == 1)
    assert "already settled" in loser
    assert len(json.loads(ok("settlements", "-w", str(ws), "--json"))) == 1
    ok("audit", "verify", "-w", str(ws))


def test_an_ingest_and_a_status_at_once_both_finish(ws, tmp_path):
    more = tmp_path / "more.csv"
    lines = (WORKED_MONTH / "interactions.csv").read_text().splitlines()
    more.write_text("\n".join([lines[0], lines[-1].replace("w14", "w15").replace("2026-11-10", "2026-11-11")]) + "\n")
    ingest = start("ingest", "interactions", str(more), "-w", str(ws))
    status = start("status", "-w", str(ws))
    for p in (ingest, status):
        _out, err = p.communicate(timeout=180)
        clean(err)
        assert p.returncode == 0, err


KILLED = (
    "import os, signal, sys; from outcomes.cli.app import app; import {module} as m; "
    "m.{name} = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL); "
    "sys.argv = ['outcomes', 'settle', 'worked-example', '-p', '2026-10', '-w', sys.argv[1]]; app()"
)


@pytest.mark.parametrize(
    "where,leftover",
    [
        # killed after the evidence was written, before the settlement was recorded
        ({"module": "outcomes.ledger.store", "name": "Ledger.record_settlement"}, "table"),
        # killed in the middle of writing the evidence file
        ({"module": "os", "name": "replace"}, "partial"),
    ],
    ids=["before-record", "mid-evidence"],
)
def test_a_killed_settle_leaves_the_store_as_before_and_doctor_cleans_up(ws, where, leftover):
    before = json.loads(ok("audit", "verify", "-w", str(ws), "--json"))
    code = KILLED.format(**where)
    p = subprocess.run([sys.executable, "-c", code, str(ws)], capture_output=True, text=True, timeout=180)
    assert p.returncode == -9, p.stderr
    # nothing was recorded and nothing recorded changed
    assert json.loads(ok("settlements", "-w", str(ws), "--json")) == []
    after = json.loads(ok("audit", "verify", "-w", str(ws), "--json"))
    assert after["ok"] and after["head"] == before["head"]
    found = json.loads(ok("doctor", "--dry-run", "-w", str(ws), "--json"))["leftovers"]
    assert leftover in {x["kind"] for x in found}, found
    ok("doctor", "-w", str(ws))
    assert json.loads(ok("doctor", "-w", str(ws), "--json"))["leftovers"] == []
    assert list((ws / "evidence").iterdir()) == []
    # and the period settles as if nothing had happened
    assert json.loads(ok("settle", "worked-example", "-p", "2026-10", "-w", str(ws), "--json"))["total"] == "2030.00"
    assert json.loads(ok("doctor", "-w", str(ws), "--json"))["leftovers"] == []


def test_doctor_on_a_clean_workspace_finds_nothing(ws):
    ok("settle", "worked-example", "-p", "2026-10", "-w", str(ws))
    assert "nothing to clean" in ok("doctor", "-w", str(ws))
    assert os.path.exists(ws / ".outcomes.lock")


SERVE = (
    "import sys, time; from outcomes.server.asgi import app_from_environment; "
    "app = app_from_environment(); print('serving', flush=True); time.sleep(float(sys.argv[1])); "
    "app.state.writer.close()"
)


def test_while_the_server_runs_command_line_writes_of_the_facts_wait_then_say_busy(ws, tmp_path):
    """The server holds the workspace lock while it runs (docs/server.md): an ingest from the command line
    waits, then stops cleanly naming the server; the ledger-only commands run alongside it."""
    env = dict(os.environ, OUTCOMES_WORKSPACE=str(ws), OUTCOMES_WAIT="5")
    server = subprocess.Popen([sys.executable, "-c", SERVE, "20"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout.readline().strip() == "serving"
        r = cli("--wait", "1", "ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws))
        assert r.returncode == 1
        clean(r.stderr)
        assert "workspace busy: outcomes serve since " in r.stderr
        assert cli("--wait", "0", "settlements", "-w", str(ws)).returncode == 0
    finally:
        server.kill()
        server.wait(10)
    # once it is gone, the command line has the workspace again
    ok("ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws))


def test_a_server_started_while_a_command_holds_the_workspace_waits_then_says_busy(ws):
    holder = hold(ws, 10)
    try:
        r = cli("--wait", "0.5", "serve", "--port", "8765", "-w", str(ws), timeout=60)
    finally:
        holder.kill()
        holder.wait(10)
    assert r.returncode == 1
    clean(r.stderr)
    assert "workspace busy: outcomes settle since " in r.stderr
