"""Integrity checks against the gaming of outcome metrics (docs/integrity.md).

Six detectors, each a function of a `Context` (contract, period, facts as Ibis tables) returning a
`DetectorRun` with its findings: split tickets, premature closure, bot containment that was abandonment,
survey selection bias, reclassification toward higher prices, and resolution claims without support in the
system of record. Each finding names its detector, severity, subject (agent, workflow or none), every affected
interaction id and the money at stake under the contract (its billing effect).
"""

from typing import Any

from .model import DETECTORS, DetectorRun, Finding, IntegrityError, Report, Thresholds

# The detectors pull in Ibis and their queries; the command line imports this package to describe its
# options, so they load on first use, not at start-up.
_LAZY = {"Context": "context", "Prices": "context", "check": "run", "collect": "run"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DETECTORS",
    "Context",
    "DetectorRun",
    "Finding",
    "IntegrityError",
    "Prices",
    "Report",
    "Thresholds",
    "check",
    "collect",
]
