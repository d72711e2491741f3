"""Integrity checks against the gaming of outcome metrics (docs/integrity.md).

Six detectors, each a function of a `Context` (contract, period, facts as Ibis tables) returning a
`DetectorRun` with its findings: split tickets, premature closure, bot containment that was abandonment,
survey selection bias, reclassification toward higher prices, and resolution claims without support in the
system of record. Each finding names its detector, severity, subject (agent, workflow or none), every affected
interaction id and the money at stake under the contract (its billing effect).
"""

from .context import Context, Prices
from .model import DETECTORS, DetectorRun, Finding, IntegrityError, Report, Thresholds
from .run import check, collect

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
