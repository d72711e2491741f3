"""The shared server (docs/server.md): one place where buyer, provider and auditor see the same numbers, live.

FastAPI under uvicorn on a workspace (`outcomes serve`): the API under /api (OpenAPI at /api/openapi.json),
pages rendered on the server, the live scorecard kept from batch deltas (`live.py`). The server calls the same
core as the command line (settlement/, analysis/, ledger/, facts/), never the command line's code.
"""

from __future__ import annotations


def create_app(
    workspace, *, live: bool = True, secure_cookies: bool = False, close_on_shutdown: bool = False
):
    """The app over an open workspace (`outcomes.workspace.Workspace`); `close_on_shutdown`: it closes the
    workspace when the server stops (else the caller closes `app.state.writer`)."""
    from outcomes.server.app import create_app as make
    from outcomes.server.writer import Writer

    return make(
        Writer(workspace, live=live), secure_cookies=secure_cookies, close_on_shutdown=close_on_shutdown
    )
