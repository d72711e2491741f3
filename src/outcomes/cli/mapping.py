"""`outcomes mapping ...`: list the built-in connector mappings and check a mapping against a file.

`parse_params` turns repeated `--param KEY=VALUE` options into a mapping's ``params`` (ingest uses it too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from outcomes.cli.console import errors, out, print_json

__all__ = ["PARAM_HELP", "app", "parse_params"]

PARAM_HELP = "A mapping parameter KEY=VALUE (repeatable), e.g. --param as_of=2026-10-31."


def parse_params(values: list[str] | None) -> dict[str, str]:
    """``["as_of=2026-10-31", ...]`` (repeated ``--param KEY=VALUE``) as a dict; a value may hold ``=``.
    A text without ``=``, an empty key or a key given twice is a :class:`MappingError`."""
    from outcomes.connectors import MappingError

    params: dict[str, str] = {}
    for text in values or []:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise MappingError(f"--param {text!r}: write KEY=VALUE, e.g. --param as_of=2026-10-31")
        if key in params:
            raise MappingError(f"--param {key}: given twice")
        params[key] = value.strip()
    return params


mapping_app = typer.Typer(
    help="Connector mappings: how a source's columns become canonical facts.", no_args_is_help=True
)


@mapping_app.command("list")
def mapping_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the built-in mappings (use them as --mapping NAME)."""
    from outcomes.connectors import builtin_names, load_mapping

    with errors():
        rows = []
        for name in builtin_names():
            m = load_mapping(name)
            rows.append(
                {
                    "name": name,
                    "kind": m.kind,
                    "fold": m.fold.case if m.fold else None,
                    "timezone": m.timezone,
                    "params": {
                        k: {"type": p.type, "required": p.required, "default": p.default}
                        for k, p in m.params.items()
                    },
                    "description": " ".join(m.description.split()),
                }
            )
    if as_json:
        print_json(rows)
        return
    # one entry per mapping, not a table: a five-column table squeezes the description into a sliver at 80
    # columns or in a pipe. The name and facts on one line, then the description's first sentence, indented.
    import textwrap

    from rich.markup import escape

    width = max(40, min(out.width, 100))
    for r in rows:
        facts = [r["kind"], f"folds by {r['fold']}" if r["fold"] else "a unit per row"]
        facts.append(f"time zone {r['timezone']}" if r["timezone"] else "times in their offset or --timezone")
        if r["params"]:
            facts.append("--param " + ", ".join(r["params"]))
        head = textwrap.wrap(" · ".join(facts), width - len(r["name"]) - 2) or [""]
        out.print(f"[bold]{escape(r['name'])}[/bold]  {escape(head[0])}", markup=True)
        if head[1:]:
            out.print(
                textwrap.fill(" ".join(head[1:]), width, initial_indent="    ", subsequent_indent="    "),
                markup=False,
            )
        first = textwrap.shorten(
            re.split(r"(?<=\.)\s", r["description"], maxsplit=1)[0], 240, placeholder=" ..."
        )
        out.print(textwrap.fill(first, width, initial_indent="    ", subsequent_indent="    "), markup=False)
    out.print(f"{len(rows)} mappings; `outcomes mapping list --json` has each one's full description")


@mapping_app.command("check")
def mapping_check(
    mapping: Annotated[str, typer.Argument(help="A mapping file (.yaml) or a built-in mapping name.")],
    file: Annotated[Path, typer.Argument(help="A source file to try it on.")],
    rows: Annotated[int, typer.Option(help="How many mapped rows to preview.")] = 5,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Zone of local times, if the mapping declares none.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help=PARAM_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Dry-run a mapping on a file: preview the first mapped rows and report every column that cannot
    be mapped (nothing is written). Exit code 1 when some rows would be quarantined."""
    from rich.table import Table

    from outcomes.connectors import check_mapping

    with errors():
        report = check_mapping(mapping, file, rows=rows, timezone=timezone, params=parse_params(param))
    data = report.to_dict()
    if as_json:
        print_json(data)
    else:
        s = report.summary
        out.print(
            f"{file}: mapping {report.mapping}: {s['rows']:,} {report.unit} ({report.source_rows:,} source rows) · "
            f"{s['accepted']:,} would be accepted · {s['duplicates']:,} duplicates · "
            f"{s['quarantined']:,} quarantined · {s['skipped']:,} skipped"
        )
        for reason, n in sorted(s["reasons"].items()):
            out.print(f"  {reason}: {n:,}")
        if report.preview:
            # one line per canonical column, one column per previewed row (times are UTC)
            t = Table("column", *(f"row {i}" for i in range(1, len(report.preview) + 1)))
            for c in report.preview[0]:
                t.add_row(c, *("" if r[c] is None else str(r[c]) for r in report.preview))
            out.print(t)
        if report.problems:
            t = Table("column", "reason", "rows", "first row", "example")
            for p in report.problems:
                t.add_row(
                    p["column"], p["reason"], f"{p['rows']:,}", str(p["example_row"]), p["example"] or ""
                )
            out.print(t)
        else:
            out.print("every column maps")
    if report.problems:
        raise typer.Exit(1)


app = typer.Typer()
app.add_typer(mapping_app, name="mapping")
