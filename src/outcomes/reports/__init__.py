"""Invoices and review packs: terminal tables, CSV, JSON (HTML and PDF later)."""
