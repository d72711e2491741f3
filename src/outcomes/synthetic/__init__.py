"""Synthetic data: a realistic month of interactions, CRM events and a matching contract, with injected
gaming and its ground truth (`outcomes generate`)."""
