"""Analysis of a contract's data beyond the invoice: the balanced scorecard (and its charts), integrity
checks against gaming, and a pilot's uplift report."""
