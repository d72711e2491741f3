"""HTTP to a helpdesk API: credentials from the environment, rate limits honoured (429 + Retry-After)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from outcomes.errors import OutcomesError

#: The longest wait a Retry-After may ask for before the pull stops (its cursor kept) instead of sleeping.
MAX_WAIT_SECONDS = 900
#: Rate-limited answers in a row before the pull stops.
MAX_WAITS = 20
#: Without a Retry-After header, a 429 waits this long (Zendesk and Intercom reset their limits each minute).
DEFAULT_WAIT_SECONDS = 60
_LOCAL = ("localhost", "127.0.0.1", "::1")


class PullError(OutcomesError):
    """A pull that cannot run or go on: missing credentials, a refused request, an answer that is not JSON."""

    code = "pull"


def env_value(env: Mapping[str, str], name: str, vendor: str, what: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise PullError(
            f"{vendor}: the environment variable {name} is not set ({what})",
            hint=f"export {name}=...; credentials are read from the environment only, never stored",
        )
    return value


def base_url(env: Mapping[str, str], override: str, default: str | None, vendor: str, what: str) -> str:
    """The API's base URL: the override variable (tests point it at a local server), else the default. Only
    https carries credentials, but to this machine (a local test server)."""
    url = (env.get(override) or "").strip() or default
    if url is None:
        raise PullError(
            f"{vendor}: the environment variable {what} is not set (or {override})",
            hint=f"export {what}=...; credentials are read from the environment only, never stored",
        )
    parts = urlsplit(url)
    local = parts.hostname in _LOCAL
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not local):
        source = override if env.get(override) else what
        raise PullError(
            f"{vendor}: {source} gives {url!r}, not an https URL",
            hint="credentials are only sent over https (plain http only to localhost)",
        )
    return url.rstrip("/")


def retry_after(value: str | None, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return float(DEFAULT_WAIT_SECONDS)
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return float(DEFAULT_WAIT_SECONDS)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class Api:
    """One vendor's API: JSON requests, waiting out rate limits, errors that name the vendor and never the
    credentials."""

    vendor: str
    base: str
    credentials: str  # the variables to check when the API refuses them (for the hint)
    # the credentials: never in a repr (a traceback, a log line)
    auth: httpx.Auth | tuple[str, str] | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    sleep: Callable[[float], None] = time.sleep
    on_wait: Callable[[float], None] = lambda seconds: None
    transport: httpx.BaseTransport | None = None
    waits: int = 0
    waited: float = 0.0

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.base,
            auth=self.auth,
            headers={"Accept": "application/json", **self.headers},
            timeout=httpx.Timeout(60.0),
            transport=self.transport,
            follow_redirects=False,  # a redirect could carry the credentials elsewhere
        )

    def close(self) -> None:
        self._client.close()

    def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> tuple[Any, httpx.Response]:
        in_a_row = 0
        while True:
            try:
                r = self._client.request(method, path, params=params, json=body)
            except httpx.HTTPError as exc:
                raise PullError(
                    f"{self.vendor}: cannot reach {self.base} ({type(exc).__name__}: {exc})",
                    hint="check the network and the base URL; rerun to resume (the cursor is kept)",
                ) from None
            if r.status_code == 429 or (r.status_code == 503 and "Retry-After" in r.headers):
                wait = retry_after(r.headers.get("Retry-After"))
                in_a_row += 1
                if wait > MAX_WAIT_SECONDS or in_a_row > MAX_WAITS:
                    raise PullError(
                        f"{self.vendor}: rate limited (HTTP {r.status_code}) {in_a_row} time(s) in a row, "
                        f"asked to wait {wait:.0f} s",
                        hint="rerun later: the pull resumes from its cursor and reads nothing twice",
                    )
                self.waits += 1
                self.waited += wait
                self.on_wait(wait)
                self.sleep(wait)
                continue
            if r.status_code in (401, 403):
                raise PullError(
                    f"{self.vendor}: the API refused the credentials (HTTP {r.status_code} on {path})",
                    hint=f"check {self.credentials}",
                )
            if r.status_code >= 400:
                raise PullError(
                    f"{self.vendor}: HTTP {r.status_code} on {path}: {_snippet(r.text)}",
                    hint="rerun to resume (the cursor is kept)",
                )
            try:
                return r.json(), r
            except ValueError:
                raise PullError(
                    f"{self.vendor}: the answer to {path} is not JSON ({_snippet(r.text)})",
                    hint="check the base URL: it should be the helpdesk's API",
                ) from None


def _snippet(text: str) -> str:
    one = " ".join(text.split())
    return one[:200] + ("..." if len(one) > 200 else "")
