"""Ledger schema revisions, oldest first (0001, 0002, ...). Never edit a released revision: add a new one."""
