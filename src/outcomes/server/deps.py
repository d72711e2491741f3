"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from outcomes.server.auth import Caller, caller

# Declared for the OpenAPI document (the scheme); the header is read by `caller`, which also takes a session.
bearer = HTTPBearer(auto_error=False, description="An API token: `outcomes token create EMAIL`")


def api_caller(
    request: Request, _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None
) -> Caller:
    who = caller(request)
    assert who is not None
    return who


# A ledger row id in a URL: the database's 64-bit integer range (a larger number is a 422, not a 500 from the driver)
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A ledger row id.")]
