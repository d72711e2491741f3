"""The shape of the house (docs/architecture.md): layers kept, no import cycles, a command line that starts
without loading an engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_the_layers_and_acyclic_siblings_contracts_hold():
    """`.importlinter`: contract < pricing, metrics < facts, ledger < connectors < workspace < settlement <
    analysis < cli, and no two sibling packages import each other (the same check `make lint` runs)."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("outcomes", cache_dir=None)
    assert _cycles(graph) == []


def test_the_command_line_starts_without_an_engine():
    """`outcomes --help` and `outcomes version` load the command groups only: no DuckDB, Ibis, SQLAlchemy,
    Spark, pandas or Pydantic until a command runs (start-up time is measured in docs/architecture.md)."""
    code = (
        "import sys; import outcomes.cli; "
        "heavy = sorted(m for m in ('duckdb', 'ibis', 'sqlalchemy', 'pyspark', 'pandas', 'pydantic', 'numpy', "
        "'scipy', 'altair', 'fastapi', 'uvicorn', 'starlette', 'pwdlib') if m in sys.modules); print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_both_facts_engines_implement_the_facts_interface():
    """Settlement and analyses are written against `Facts`: every method of it exists on both engines with
    the same parameters (the conformance suite checks they also answer the same)."""
    import inspect

    from outcomes.facts import Facts, FactsStore
    from outcomes.facts.spark import SparkFacts

    wanted = {n for n, v in vars(Facts).items() if callable(v) and not n.startswith("_")}
    assert wanted >= {"interactions", "digest", "write_evidence", "contact_clock"}
    for engine in (FactsStore, SparkFacts):
        for name in sorted(wanted):
            assert hasattr(engine, name), f"{engine.__name__} lacks {name}"
            want = list(inspect.signature(getattr(Facts, name)).parameters)
            got = list(inspect.signature(getattr(engine, name)).parameters)
            assert got[: len(want)] == want, f"{engine.__name__}.{name}{got} differs from Facts.{name}{want}"
