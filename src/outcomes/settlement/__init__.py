"""Settlement: the one orchestrator of a period (resolve -> clock -> measure -> price -> record), and what
reads a settlement back (the invoice, explain, rerun, adjustments, status, service levels)."""
