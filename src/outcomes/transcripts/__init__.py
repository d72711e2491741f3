"""Transcript analytics: every interaction's conversation measured, not a 2% sample (docs/analytics.md).

- `redact`: PII to typed placeholders ([EMAIL], [PHONE], [CARD], ...), compiled patterns plus validators.
- `sentiment`, `signals`, `rubric`, `scoring`: the built-in scorers (customer sentiment and its shift; churn,
  upsell-after-resolution and effort signals; the automatic QA rubric) and the plug-in interface (entry
  point group ``outcomes.scorers``).
- `mappings`: twcs, abcd, intercom and zendesk records to canonical transcript rows.
- `analyze`: score a contract's period, resumable, on all cores; `friction`: friction topics.
- `evaluate`: accuracy against ground truth (ABCD's delexicalised copies, the hand-labelled fixture).

Scoring and redaction are pure functions of values; the facts store (``outcomes.facts.transcripts``) and the
command line do the I/O.
"""
