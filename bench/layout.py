"""Lines of Python per package of src/outcomes at git revisions (default: the working tree): the figures
docs/architecture.md reports for the reshape (import cycles are counted by tests/test_architecture.py).

    .venv/bin/python bench/layout.py [REV ...]      e.g. bench/layout.py d163b9d HEAD
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _files(rev: str | None) -> dict[str, str]:
    if rev is None:
        return {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "src/outcomes").rglob("*.py")}
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "src/outcomes"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.split()  # fmt: skip
    return {
        n: subprocess.run(["git", "show", f"{rev}:{n}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for n in names
        if n.endswith(".py")
    }


def lines_per_package(rev: str | None) -> Counter[str]:
    out: Counter[str] = Counter()
    for name, text in _files(rev).items():
        parts = Path(name).parts[2:]  # below src/outcomes
        key = "(root modules)" if len(parts) == 1 else parts[0] + "/"
        out[key] += len(text.splitlines())
    return out


def main(revs: list[str]) -> None:
    columns = revs or ["working tree"]
    counts = [lines_per_package(None if r == "working tree" else r) for r in columns]
    keys = sorted(set().union(*counts))
    print("| package | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{c.get(k, 0):,}" for c in counts) + " |")
    print("| total | " + " | ".join(f"{sum(c.values()):,}" for c in counts) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
