"""Names that reach file paths, URLs and SQL: the contract's ids, and the one way a file is named after them.

An id (a contract, a workflow, an outcome) is letters, digits, '.', '-' and '_' (ASCII), does not start with a
dot and is at most `MAX_ID_LENGTH` characters. So `../../x`, `a/b`, a zero-width space or a look-alike letter
from another script are refused where the contract is validated, and every id is safe as a path segment, in a
URL and in a file name.

`file_in(folder, name)` is the single place a file name built from data becomes a path: it refuses a name
that is not one path segment or that would leave the folder, whatever the data (an id registered before these
rules, a period label, a group name).
"""

from __future__ import annotations

import re
from pathlib import Path

from outcomes.errors import OutcomesError

MAX_ID_LENGTH = 100
_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class UnsafeName(OutcomesError):
    """A file name built from data that would not stay inside its folder."""

    code = "unsafe_name"


def id_problem(value: str) -> str | None:
    """Why `value` cannot be an id, or None when it can."""
    if not value:
        return "an id cannot be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"an id is at most {MAX_ID_LENGTH} characters, this one has {len(value)}"
    problems = []
    if value.startswith("."):
        problems.append("starts with a dot")
    if value.lstrip(".") and _ID.fullmatch(value.lstrip(".")) is None:
        odd = sorted({ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in "._-"))})
        problems.append("holds " + ", ".join(_char(ch) for ch in odd))
    return f"the id {value!r} {' and '.join(problems)}" if problems else None


def _char(ch: str) -> str:
    if ch.isprintable() and not ch.isspace() and ch.isascii():
        return repr(ch)
    import unicodedata

    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed character').lower()})"


def file_in(folder: Path, name: str) -> Path:
    """`folder / name`, refused unless `name` is one path segment that stays inside `folder`."""
    bad = (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", "\x00"))
        or Path(name).is_absolute()
    )
    path = folder / name
    if not bad:
        try:
            bad = path.resolve().parent != folder.resolve()
        except (OSError, RuntimeError):
            bad = True
    if bad:
        raise UnsafeName(
            f"refusing to write {name!r} into {folder}: a name made from the data must be one file name "
            "inside the folder",
            hint="ids are letters, digits, '.', '-' and '_' (see docs/security.md); rename the id, or register "
            "the contract again under a safe id",
        )
    return path
