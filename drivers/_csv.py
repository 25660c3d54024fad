"""A small numeric CSV reader shared by the site formats (no pandas)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .errors import DriverError

_MISSING_TOKENS = {"", "na", "nan", "null", "none", "-nan"}


def read_table(path, text_columns=()) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """Read a numeric CSV with one header row.

    Lines starting with ``#`` before the header may hold ``key: value`` or ``key = value``
    metadata. Empty cells and ``NA``/``NaN`` become NaN.

    Returns
    -------
    header : list of str
        Column names (quotes and surrounding blanks removed).
    values : ndarray
        ``(n_rows, n_columns)`` float64.
    meta : dict
        Metadata from the comment lines (keys lower-cased); the cells of ``text_columns``
        (matched case-insensitively) are returned as lists of strings under
        ``meta['text'][column]`` and are NaN in ``values``.

    Raises
    ------
    DriverError
        The file cannot be read, a row has the wrong number of cells, or a cell is not a
        number (the message names the file, the column and the row).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DriverError(f"{path}: cannot read as text ({err})") from None
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            content = stripped.lstrip("#").strip()
            for sep in (":", "="):
                if sep in content:
                    key, value = content.split(sep, 1)
                    meta[key.strip().lower()] = value.strip()
                    break
            continue
        body_start = i
        break
    else:
        raise DriverError(f"{path}: no header row")
    rows = list(csv.reader(lines[body_start:]))
    header = [h.strip() for h in rows[0]]
    text_idx = {c for c, h in enumerate(header) if h.lower() in {t.lower() for t in text_columns}}
    texts: dict[str, list[str]] = {header[c]: [] for c in text_idx}
    meta["text"] = texts
    data = []
    for r, row in enumerate(rows[1:], start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DriverError(
                f"{path}: data row {r} has {len(row)} cells, the header has {len(header)}"
            )
        out = []
        for c, cell in enumerate(row):
            cell = cell.strip().strip('"')
            if c in text_idx:
                texts[header[c]].append(cell)
                out.append(np.nan)
                continue
            if cell.lower() in _MISSING_TOKENS:
                out.append(np.nan)
                continue
            try:
                out.append(float(cell))
            except ValueError:
                raise DriverError(
                    f"{path}: column {header[c]!r} holds {cell!r} at data row {r}; "
                    "expected a number"
                ) from None
        data.append(out)
    values = np.array(data, dtype=np.float64).reshape(len(data), len(header))
    return header, values, meta


def sniff_header(path, max_bytes: int = 4096) -> list[str] | None:
    """The header cells of a CSV-looking text file, or None if it does not look like one."""
    try:
        with open(path, "rb") as fh:
            chunk = fh.read(max_bytes)
    except OSError:
        return None
    if b"\0" in chunk:
        return None
    try:
        text = chunk.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "," not in stripped:
            return None
        return [h.strip().strip('"').strip() for h in next(csv.reader([stripped]))]
    return None
