"""Pull tickets straight from a helpdesk's API (docs/connectors.md, "Pulling from a helpdesk API").

    from outcomes.connectors.pull import pull
    summary = pull("zendesk", folder, ingest, since=date(2026, 10, 1))

Each vendor's change feed (Zendesk's cursor-based incremental ticket export, Freshdesk's tickets listed by
``updated_since``, Intercom's conversation search) is read page by page; the records are written, one file a
batch, in the shape the vendor's built-in JSON mapping reads (``zendesk-json``, ``freshdesk-json``,
``intercom-json``) and ingested through it, so a pulled ticket gets the same mapping, validation and
quarantine as an exported one. The cursor is kept in ``folder`` and moved only after its batch is committed: a
rerun resumes where the last one ended and reads nothing twice. Credentials come from the environment only.
"""

from .api import PullError
from .run import PullSummary, pull
from .vendors import VENDORS

__all__ = ["VENDORS", "PullError", "PullSummary", "pull"]
