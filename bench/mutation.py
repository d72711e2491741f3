"""`make mutation`: how many wrong versions of the money-critical core the tests catch (docs/testing.md).

mutmut (pinned in the dev extras; configured in pyproject's [tool.mutmut]) makes small wrong versions of
src/outcomes/pricing/ and src/outcomes/metrics/outcomes.py (a `<` for a `<=`, a 1 for a 0, a dropped detail)
and runs the pricing and outcome tests against each; a mutant no test fails "survived". The score of a module
is detected / checked: detected = killed (a test failed) or timed out; checked = every mutant that ran.

mutmut leaves decorated functions alone, and the pricing functions run under `@in_context` (money.py); so the
run works on scratch copies (build/mutation/<group>/) where, in the mutated files only, a top-level function's
decorators are applied after its definition (`f = in_context(f)`), which Python runs the same way. Nothing in
src/ changes for it, and a new `@in_context` or `@charge_model` function is measured without further ado.
Each group (GROUPS: pricing, outcomes) has its own copy and tests, so a pricing mutant runs only the pricing
tests.

Usage:
  python bench/mutation.py run [--module outcomes.pricing.money ...] [--max-children 2] [--recheck-survivors]
  python bench/mutation.py score        # writes bench/results/mutation-<stamp>.json/.md from the last runs
`run` mutates one module at a time (every mutated module without --module; about 35 minutes), then scores.
Results accumulate in build/mutation/<group>/mutants/ across runs: mutmut skips a mutant already checked
against unchanged code, and --recheck-survivors tests the survivors again after tests were added.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SCRATCH = ROOT / "build" / "mutation"
TARGET = 0.95

# Each group is mutated in its own scratch copy against its own tests, so a pricing mutant runs the pricing
# tests only (seconds), not the settlement scenarios. The union is pyproject's [tool.mutmut].
GROUPS: dict[str, dict[str, list[str]]] = {
    "pricing": {
        "only_mutate": ["src/outcomes/pricing/*"],
        "tests": [
            "tests/test_pricing_money.py",
            "tests/test_pricing_tiers.py",
            "tests/test_pricing_edges.py",
            "tests/test_pricing_credits.py",
            "tests/test_pricing_period.py",
        ],
    },
    "outcomes": {
        "only_mutate": ["src/outcomes/metrics/outcomes.py"],
        "tests": ["tests/test_outcomes.py", "tests/test_worked_month.py"],
    },
}

# mutmut's exit-code meanings (mutmut.stats.status_by_exit_code, 3.8.1)
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
UNCHECKED = {"not checked", "skipped", "check was interrupted by user"}


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def group_of(module: str) -> str:
    return next(
        g for g, spec in GROUPS.items() if any(fnmatch(_path(module), p) for p in spec["only_mutate"])
    )


def _path(module: str) -> str:
    return "src/" + module.replace(".", "/") + ".py"


def _meta(module: str) -> Path:
    return SCRATCH / group_of(module) / "mutants" / (_path(module) + ".meta")


def modules() -> list[str]:
    """The dotted names of the files mutmut mutates (`only_mutate` in pyproject), in path order."""
    patterns = _config()["only_mutate"]
    files = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "src").rglob("*.py")
        if any(fnmatch(p.relative_to(ROOT).as_posix(), pat) for pat in patterns)
    )
    return [
        f.removeprefix("src/").removesuffix(".py").replace("/", ".")
        for f in files
        if not f.endswith("__init__.py")
    ]


def undecorate(source: str) -> str:
    """Top-level functions' decorators applied after the definition, so mutmut mutates their bodies.

    `@d1 @d2(x) def f` becomes `def f` followed by `f = d1(d2(x)(f))`: the same object under the same name."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (first decorator line, def line, end line, assignment)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
            wrapped = node.name
            for dec in reversed(node.decorator_list):
                wrapped = f"{ast.get_source_segment(source, dec)}({wrapped})"
            first = min(d.lineno for d in node.decorator_list)
            edits.append((first, node.lineno, node.end_lineno or node.lineno, f"{node.name} = {wrapped}\n"))
    for first, def_line, end, assignment in sorted(edits, reverse=True):
        lines.insert(end, assignment)
        del lines[first - 1 : def_line - 1]
    return "".join(lines)


def prepare(group: str) -> Path:
    """The group's scratch copy: src/ (mutated files undecorated), tests/ and pyproject.toml with the group's
    only_mutate and tests. Kept between runs, so mutmut's results for unchanged code are reused; a changed
    file is copied again."""
    spec = GROUPS[group]
    scratch = SCRATCH / group
    mutants = scratch / "mutants"
    scratch.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        for path in sorted((ROOT / name).rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT)
            text = path.read_bytes()
            mutated = path.suffix == ".py" and any(fnmatch(rel.as_posix(), p) for p in spec["only_mutate"])
            if mutated:
                text = undecorate(text.decode()).encode()
            target = scratch / rel
            if not target.exists() or target.read_bytes() != text:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(text)
                if not mutated:
                    # mutmut copies other files once; a mutated one newer than its mutants is mutated again,
                    # keeping the verdicts of the functions that did not change
                    (mutants / rel).unlink(missing_ok=True)
    config = _config() | {
        "only_mutate": spec["only_mutate"],
        "pytest_add_cli_args_test_selection": spec["tests"],
    }
    lines = ["[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    (scratch / "pyproject.toml").write_text("\n".join(lines) + "\n")
    # the tests find ../shared (the worked example) beside the repository, and mutmut runs them from
    # build/mutation/<group>/mutants/: point build/mutation/<group>/shared at the real one
    shared, link = (ROOT.parent / "shared").resolve(), scratch / "shared"
    if shared.exists() and not link.exists():
        link.symlink_to(shared, target_is_directory=True)
    return scratch


def recheck_survivors(names: list[str]) -> None:
    """Forget the survivors of `names`, so the next run tests them again (after tests were added: mutmut keeps
    a verdict until the mutated function's code changes, not when a test is added), and which test calls
    which function, so tests that were changed are mapped again."""
    for name in names:
        (SCRATCH / group_of(name) / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        meta = _meta(name)
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for key, code in codes.items():
            if code is not None and _status(code) not in DETECTED:
                codes[key] = None
        meta.write_text(json.dumps(data, indent=4))


def run(names: list[str], max_children: int, recheck: bool = False) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    for name in names:
        scratch = prepare(group_of(name))
        if recheck:
            recheck_survivors([name])
        print(
            f"mutation: {name} (in {scratch}: mutmut run --max-children {max_children} '{name}.*')",
            flush=True,
        )
        subprocess.run(
            [str(mutmut), "run", "--max-children", str(max_children), f"{name}.*"],
            cwd=scratch,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )


def _status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


def collect() -> dict[str, dict]:
    """Per module: counts by status, the score, and the surviving mutants' names."""
    out: dict[str, dict] = {}
    for name in modules():
        meta = _meta(name)
        if not meta.exists():
            out[name] = {"measured": False}
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        statuses = {key: _status(code) for key, code in codes.items()}
        counts = Counter(statuses.values())
        checked = sum(n for s, n in counts.items() if s not in UNCHECKED)
        detected = sum(n for s, n in counts.items() if s in DETECTED)
        out[name] = {
            "measured": checked > 0,
            "mutants": len(statuses),
            "checked": checked,
            "detected": detected,
            "score": round(detected / checked, 4) if checked else None,
            "by_status": dict(sorted(counts.items())),
            "survivors": {
                k: _change(name, k) for k, s in sorted(statuses.items()) if s not in DETECTED | UNCHECKED
            },
        }
    return out


def _change(module: str, mutant: str) -> str:
    """The mutant's change, as the removed and added source lines (`mutmut show`)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    shown = subprocess.run(
        [str(mutmut), "show", mutant], cwd=SCRATCH / group_of(module), capture_output=True, text=True
    ).stdout.splitlines()
    changed = [ln for ln in shown if ln[:2] in ("- ", "+ ") and not ln.startswith(("--- ", "+++ "))]
    return " / ".join(ln[0] + " " + ln[1:].strip() for ln in changed)


# The money-critical core of pricing named in issue 17 (measured first; the rest of pricing/ after it).
PRICING_CORE = tuple(
    f"outcomes.pricing.{m}" for m in ("money", "tiers", "outcome_fee", "proration", "bounds", "credits")
)


def _group(by_module: dict[str, dict], prefix: str | tuple[str, ...]) -> dict:
    measured = [m for name, m in by_module.items() if name.startswith(prefix) and m.get("measured")]
    checked = sum(m["checked"] for m in measured)
    detected = sum(m["detected"] for m in measured)
    return {
        "modules_measured": len(measured),
        "checked": checked,
        "detected": detected,
        "score": round(detected / checked, 4) if checked else None,
    }


def score() -> Path:
    by_module = collect()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    from mutmut import __version__ as mutmut_version

    report = {
        "stamp": stamp,
        "mutmut": mutmut_version,
        "python": platform.python_version(),
        "target": TARGET,
        "command": "make mutation (python bench/mutation.py run; then score)",
        "pricing_core": _group(by_module, PRICING_CORE),
        "pricing": _group(by_module, "outcomes.pricing."),
        "outcomes": _group(by_module, "outcomes.metrics.outcomes"),
        "modules": by_module,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"mutation-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    md = _markdown(report)
    (RESULTS / f"mutation-{stamp}.md").write_text(md)
    (RESULTS / "mutation-latest.md").write_text(md)
    print(md)
    return path


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _markdown(r: dict) -> str:
    rows = [
        f"# Mutation score ({r['stamp']}, mutmut {r['mutmut']}, Python {r['python']})",
        "",
        f"Target: {_pct(r['target'])} detected on each. Rerun: `make mutation` (docs/testing.md).",
        "",
        f"- pricing core (money, tiers, outcome_fee, proration, bounds, credits; "
        f"{r['pricing_core']['modules_measured']} of 6 measured): {_pct(r['pricing_core']['score'])} "
        f"({r['pricing_core']['detected']} of {r['pricing_core']['checked']})",
        f"- pricing/ ({r['pricing']['modules_measured']} modules measured): {_pct(r['pricing']['score'])} "
        f"({r['pricing']['detected']} of {r['pricing']['checked']})",
        f"- metrics/outcomes.py: {_pct(r['outcomes']['score'])} "
        f"({r['outcomes']['detected']} of {r['outcomes']['checked']})",
        "",
        "| module | mutants | checked | detected | score | survivors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in r["modules"].items():
        if not m.get("measured"):
            rows.append(f"| {name} | - | - | - | not measured | - |")
            continue
        rows.append(
            f"| {name} | {m['mutants']} | {m['checked']} | {m['detected']} | {_pct(m['score'])} "
            f"| {len(m['survivors'])} |"
        )
    survivors = [(s, c) for m in r["modules"].values() for s, c in m.get("survivors", {}).items()]
    if survivors:
        rows += ["", "Survivors (docs/testing.md says why each is equivalent, or names it a gap):", ""]
        rows += [f"- `{s}`: `{c}`" for s, c in survivors]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="mutate and test, one module at a time, then score")
    r.add_argument("--module", action="append", help="a dotted module (default: every mutated module)")
    r.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    r.add_argument("--recheck-survivors", action="store_true", help="test the last run's survivors again")
    sub.add_parser("score", help="write bench/results/mutation-*.json and .md from the last runs")
    sub.add_parser("prepare", help="only refresh the scratch copies")
    args = parser.parse_args()
    if args.command == "prepare":
        for group in GROUPS:
            prepare(group)
    elif args.command == "run":
        known = modules()
        for name in args.module or []:
            if name not in known:
                parser.error(f"{name} is not a mutated module; one of {', '.join(known)}")
        # the money-critical core first, so an interrupted run has measured what matters most
        order = sorted(known, key=lambda m: (m not in PRICING_CORE, group_of(m) != "outcomes"))
        run(args.module or order, max(1, args.max_children), args.recheck_survivors)
        score()
    else:
        score()


if __name__ == "__main__":
    main()
