"""The app as uvicorn imports it (`outcomes serve` names this factory by its import path, so the command line
does not import the server): the workspace from OUTCOMES_WORKSPACE (or the current folder)."""

from __future__ import annotations

import os

from fastapi import FastAPI


def app_from_environment() -> FastAPI:
    from outcomes.server import create_app
    from outcomes.workspace import find_workspace

    secure = os.environ.get("OUTCOMES_SERVER_BEHIND_TLS") == "1"
    # the server is the workspace's one writer: it holds the workspace lock while it runs (docs/server.md)
    ws = find_workspace(None, command="outcomes serve", wait=float(os.environ.get("OUTCOMES_WAIT") or 30))
    return create_app(ws, secure_cookies=secure, close_on_shutdown=True)
