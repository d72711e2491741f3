"""The server's routers: one module per resource (the API under /api, the pages at the root)."""
