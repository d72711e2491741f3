"""Outcome and metric definitions, compiled to Ibis expressions (one definition, any engine)."""
