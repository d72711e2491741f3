"""The simulator: the same period priced under other contracts (`outcomes compare`), scenarios and their
Monte Carlo distributions (`outcomes simulate`), and the renewal pack (`outcomes renewal`); docs/simulator.md.

It sits above `analysis/` (the renewal pack reads the scorecard and the integrity findings) and below the
command line and the server. Nothing here writes to the ledger: evidence tables it needs are dropped after use.
"""
