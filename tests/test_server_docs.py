"""docs/server.md: its curl examples run against a real server and succeed, in order; its roles table says what
the server enforces."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from server_helpers import make_server

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[1] / "docs" / "server.md"


def examples() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- curl-examples -->", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands: list[str] = []
    for line in block.splitlines():
        if line.startswith("curl "):
            commands.append(line)
        elif line.strip():
            commands[-1] += "\n" + line
    return commands


def test_the_examples_are_there():
    cmds = examples()
    assert len(cmds) >= 10 and all(c.startswith("curl -fsS") for c in cmds)


def test_the_curl_examples_run(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("no curl")
    import uvicorn

    srv = make_server(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(srv.client.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    env = dict(
        os.environ,
        URL=f"http://127.0.0.1:{port}",
        TOKEN=srv.tokens["buyer-admin"],
        PROVIDER_TOKEN=srv.tokens["provider-admin"],
    )
    try:
        for cmd in examples():
            done = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (cmd, done.stdout[-500:], done.stderr[-500:])
            assert done.stdout.strip(), cmd
        last = done.stdout
        assert re.search(r'"intact":\s*true', last)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        srv.writer.close()


def test_the_roles_table_is_what_the_server_enforces():
    from outcomes.server.auth import PERMISSIONS

    text = DOC.read_text(encoding="utf-8")
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(
            r"^\| (buyer-admin|buyer-viewer|provider-admin|"
            r"provider-viewer|auditor) \|.*$",
            text,
            re.M,
        )
    }
    assert set(rows) == {"buyer-admin", "buyer-viewer", "provider-admin", "provider-viewer", "auditor"}
    columns = [
        "read",
        "preview",
        "ingest_interactions",
        "ingest_events",
        "settle",
        "dispute_open",
        "dispute_answer",
        "dispute_comment",
    ]
    for role, line in rows.items():
        cells = [c.strip() for c in line.strip("|").split("|")][2:]
        for action, cell in zip(columns, cells, strict=True):
            assert (cell != "-") == (role in PERMISSIONS[action]), (role, action, cell)
